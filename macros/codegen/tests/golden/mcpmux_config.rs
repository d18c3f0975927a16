/// Client authentication on mcpmux's HTTP endpoint, selected by type.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(tag = "type")]
pub enum ClientAuth {
    #[serde(rename = "none")]
    None(ClientAuthNone),
    #[serde(rename = "bearer")]
    Bearer(ClientAuthBearer),
}
impl ClientAuth {
    /// The tag value selecting this variant, as written in the configuration.
    pub fn tag(&self) -> &'static str {
        match self {
            ClientAuth::None(_) => "none",
            ClientAuth::Bearer(_) => "bearer",
        }
    }
}
/// Clients do not authenticate (fine on loopback or a unix socket for one user).
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct ClientAuthNone {}
impl ::std::default::Default for ClientAuthNone {
    fn default() -> Self {
        ClientAuthNone {}
    }
}
/// Clients send Authorization: Bearer <token> with one of these tokens; others get 401. A token listed under profiles reaches only its profile: at <path> it is served that profile, and any other path answers 403.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct ClientAuthBearer {
    /// Tokens that reach everything: <path>, <path>/all and every profile. Usually from the environment: ["${MCPMUX_CLIENT_TOKEN}"]. Never logged.
    #[serde(default = "__defaults::client_auth_bearer__tokens")]
    pub tokens: ::std::vec::Vec<crate::config::support::Secret>,
    /// Tokens that reach one profile only, by profile name: a client presenting one of them is served that profile, at <path> or <path>/<profile>, and can reach no tool outside it.
    #[serde(default = "__defaults::client_auth_bearer__profiles")]
    pub profiles: ::std::collections::BTreeMap<
        ::std::string::String,
        ::std::vec::Vec<crate::config::support::Secret>,
    >,
}
impl ::std::default::Default for ClientAuthBearer {
    fn default() -> Self {
        ClientAuthBearer {
            tokens: __defaults::client_auth_bearer__tokens(),
            profiles: __defaults::client_auth_bearer__profiles(),
        }
    }
}
/// One MCP server behind mcpmux: a subprocess (transport: command) or a streamable HTTP endpoint (transport: http).
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(tag = "transport")]
pub enum Backend {
    #[serde(rename = "command")]
    Command(CommandBackend),
    #[serde(rename = "http")]
    Http(HttpBackend),
}
impl Backend {
    /// The tag value selecting this variant, as written in the configuration.
    pub fn tag(&self) -> &'static str {
        match self {
            Backend::Command(_) => "command",
            Backend::Http(_) => "http",
        }
    }
    /// Unique name of the backend; it is the prefix of its tools (<name>__<tool>).
    pub fn name(&self) -> &::std::string::String {
        match self {
            Backend::Command(v) => &v.name,
            Backend::Http(v) => &v.name,
        }
    }
    /// Free text about this backend (which account or environment it targets). It is put in front of the backend's tool descriptions and listed in the server instructions.
    pub fn description(&self) -> &::std::option::Option<::std::string::String> {
        match self {
            Backend::Command(v) => &v.description,
            Backend::Http(v) => &v.description,
        }
    }
    /// Public prefix of this backend's tools (<prefix>__<tool>); defaults to the backend's name. An empty prefix exposes the tools under their own names (a clash with another backend is reported).
    pub fn prefix(&self) -> &::std::option::Option<::std::string::String> {
        match self {
            Backend::Command(v) => &v.prefix,
            Backend::Http(v) => &v.prefix,
        }
    }
    /// Which of its tools are offered, by their own names (without the prefix).
    pub fn tools(&self) -> &Filter {
        match self {
            Backend::Command(v) => &v.tools,
            Backend::Http(v) => &v.tools,
        }
    }
    /// Which of its prompts are offered, by their own names.
    pub fn prompts(&self) -> &Filter {
        match self {
            Backend::Command(v) => &v.prompts,
            Backend::Http(v) => &v.prompts,
        }
    }
    /// Which of its resources and resource templates are offered, by their own URIs (templates by their URI template).
    pub fn resources(&self) -> &Filter {
        match self {
            Backend::Command(v) => &v.resources,
            Backend::Http(v) => &v.resources,
        }
    }
    /// How long a call may go without an answer or a progress notification before it fails with an error naming the backend.
    pub fn timeout(&self) -> &::std::time::Duration {
        match self {
            Backend::Command(v) => &v.timeout,
            Backend::Http(v) => &v.timeout,
        }
    }
}
/// A backend run as a subprocess speaking MCP over its stdin/stdout.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct CommandBackend {
    /// Unique name of the backend; it is the prefix of its tools (<name>__<tool>).
    pub name: ::std::string::String,
    /// Free text about this backend (which account or environment it targets). It is put in front of the backend's tool descriptions and listed in the server instructions.
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub description: ::std::option::Option<::std::string::String>,
    /// Public prefix of this backend's tools (<prefix>__<tool>); defaults to the backend's name. An empty prefix exposes the tools under their own names (a clash with another backend is reported).
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub prefix: ::std::option::Option<::std::string::String>,
    /// Which of its tools are offered, by their own names (without the prefix).
    #[serde(default = "__defaults::command_backend__tools")]
    pub tools: Filter,
    /// Which of its prompts are offered, by their own names.
    #[serde(default = "__defaults::command_backend__prompts")]
    pub prompts: Filter,
    /// Which of its resources and resource templates are offered, by their own URIs (templates by their URI template).
    #[serde(default = "__defaults::command_backend__resources")]
    pub resources: Filter,
    /// argv of the subprocess: the program and its arguments.
    pub command: ::std::vec::Vec<::std::string::String>,
    /// Extra environment variables for the subprocess, the way to hand it its secrets. Values are never logged.
    #[serde(default = "__defaults::command_backend__env")]
    pub env: ::std::collections::BTreeMap<
        ::std::string::String,
        crate::config::support::Secret,
    >,
    /// Names of further environment variables mcpmux passes to the subprocess (a trailing * matches a prefix, e.g. AWS_*). The subprocess otherwise sees only PATH, HOME, USER, LOGNAME, LANG, LC_*, TERM, TZ, TMPDIR and XDG_*, plus its own env.
    #[serde(default = "__defaults::command_backend__env_passthrough")]
    pub env_passthrough: ::std::vec::Vec<::std::string::String>,
    /// How long a call may go without an answer or a progress notification before it fails with an error naming the backend.
    #[serde(
        default = "__defaults::command_backend__timeout",
        with = "crate::config::support::duration"
    )]
    #[schemars(with = "String")]
    pub timeout: ::std::time::Duration,
    /// Largest message (one line of JSON-RPC on its stdout) mcpmux takes from the subprocess. A longer line is never held in memory: it is discarded as it arrives, and if it answers a call, that call fails at once with an error naming this limit. The backend serves on.
    #[serde(default = "__defaults::command_backend__max_message_bytes")]
    pub max_message_bytes: u32,
}
/// Which of the backend's own items are offered to clients, by glob patterns (* matches any run of characters, ? one character) on their own names (tools, prompts) or URIs (resources and resource templates). An item is offered if it matches an allow pattern (or allow is absent) and no deny pattern; anything else is neither listed nor callable, and `mcpmux list` shows what was hidden.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Only items matching one of these patterns are offered (absent: every item).
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub allow: ::std::option::Option<::std::vec::Vec<::std::string::String>>,
    /// Items matching any of these patterns are not offered, even if allowed.
    #[serde(default = "__defaults::filter__deny")]
    pub deny: ::std::vec::Vec<::std::string::String>,
}
impl ::std::default::Default for Filter {
    fn default() -> Self {
        Filter {
            allow: ::std::option::Option::None,
            deny: __defaults::filter__deny(),
        }
    }
}
/// A backend reached over streamable HTTP.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct HttpBackend {
    /// Unique name of the backend; it is the prefix of its tools (<name>__<tool>).
    pub name: ::std::string::String,
    /// Free text about this backend (which account or environment it targets). It is put in front of the backend's tool descriptions and listed in the server instructions.
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub description: ::std::option::Option<::std::string::String>,
    /// Public prefix of this backend's tools (<prefix>__<tool>); defaults to the backend's name. An empty prefix exposes the tools under their own names (a clash with another backend is reported).
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub prefix: ::std::option::Option<::std::string::String>,
    /// Which of its tools are offered, by their own names (without the prefix).
    #[serde(default = "__defaults::http_backend__tools")]
    pub tools: Filter,
    /// Which of its prompts are offered, by their own names.
    #[serde(default = "__defaults::http_backend__prompts")]
    pub prompts: Filter,
    /// Which of its resources and resource templates are offered, by their own URIs (templates by their URI template).
    #[serde(default = "__defaults::http_backend__resources")]
    pub resources: Filter,
    /// Absolute http or https URL of the backend's MCP endpoint.
    pub endpoint: ::std::string::String,
    /// How mcpmux authenticates to this backend.
    #[serde(default = "__defaults::http_backend__auth")]
    pub auth: Auth,
    /// How long a call may go without an answer or a progress notification before it fails with an error naming the backend.
    #[serde(
        default = "__defaults::http_backend__timeout",
        with = "crate::config::support::duration"
    )]
    #[schemars(with = "String")]
    pub timeout: ::std::time::Duration,
}
/// Credentials for an http backend, selected by type.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(tag = "type")]
pub enum Auth {
    #[serde(rename = "none")]
    None(AuthNone),
    #[serde(rename = "bearer")]
    Bearer(AuthBearer),
    #[serde(rename = "header")]
    Header(AuthHeader),
    #[serde(rename = "command")]
    Command(AuthCommand),
    #[serde(rename = "oauth")]
    Oauth(AuthOauth),
}
impl Auth {
    /// The tag value selecting this variant, as written in the configuration.
    pub fn tag(&self) -> &'static str {
        match self {
            Auth::None(_) => "none",
            Auth::Bearer(_) => "bearer",
            Auth::Header(_) => "header",
            Auth::Command(_) => "command",
            Auth::Oauth(_) => "oauth",
        }
    }
}
/// No credentials.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct AuthNone {}
impl ::std::default::Default for AuthNone {
    fn default() -> Self {
        AuthNone {}
    }
}
/// A static bearer token: Authorization: Bearer <token>.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct AuthBearer {
    /// The token, usually from the environment: ${MY_TOKEN}. Never logged.
    pub token: crate::config::support::Secret,
}
/// A custom header, such as X-Api-Key.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct AuthHeader {
    /// Name of the header.
    pub header: ::std::string::String,
    /// Value of the header, usually from the environment: ${API_KEY}. Never logged.
    pub value: crate::config::support::Secret,
}
/// A bearer token minted by a credential helper: the command's stdout is the token, re-run when it nears expiry (a JWT exp claim is honoured) or after 401/403.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct AuthCommand {
    /// argv of the credential helper.
    pub command: ::std::vec::Vec<::std::string::String>,
    /// How long a token that is not a JWT is cached before the helper runs again.
    #[serde(
        default = "__defaults::auth_command__ttl",
        with = "crate::config::support::duration"
    )]
    #[schemars(with = "String")]
    pub ttl: ::std::time::Duration,
}
/// Interactive OAuth: authorization code + PKCE, with dynamic client registration unless a client is pre-registered.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct AuthOauth {
    /// Scopes to request (empty: the server's defaults).
    #[serde(default = "__defaults::auth_oauth__scopes")]
    pub scopes: ::std::vec::Vec<::std::string::String>,
    /// Client name shown on the consent screen.
    #[serde(default = "__defaults::auth_oauth__client_name")]
    pub client_name: ::std::string::String,
    /// Open the authorization URL in a browser (false: only print it, for headless machines).
    #[serde(default = "__defaults::auth_oauth__open_browser")]
    pub open_browser: bool,
    /// Loopback port of the redirect listener; 0 picks a free one. Set it when the client is pre-registered with a fixed redirect URI.
    #[serde(default = "__defaults::auth_oauth__callback_port")]
    pub callback_port: u16,
    /// Client ID of a pre-registered client, for servers without dynamic registration.
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub client_id: ::std::option::Option<::std::string::String>,
    /// Client secret of a pre-registered confidential client. Never logged.
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub client_secret: ::std::option::Option<crate::config::support::Secret>,
    /// How tokens are obtained: authorization_code (a user's consent in a browser, the default) or client_credentials (machine to machine with client_id and client_secret, no user; an MCP extension some servers support).
    #[serde(default = "__defaults::auth_oauth__grant")]
    pub grant: OauthGrant,
    /// HTTPS URL of a Client ID Metadata Document you host: used as the client ID with authorization servers that support such documents (client_id_metadata_document_supported), instead of dynamic registration. Ignored when client_id or client_id_command is set.
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub client_metadata_url: ::std::option::Option<::std::string::String>,
    /// A command whose stdout is the client ID (instead of client_id).
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub client_id_command: ::std::option::Option<::std::vec::Vec<::std::string::String>>,
    /// A command whose stdout is the client secret (instead of client_secret).
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub client_secret_command: ::std::option::Option<
        ::std::vec::Vec<::std::string::String>,
    >,
    /// Accept authorization server metadata whose issuer differs from its URL (an RFC 8414 violation some servers, such as Slack, commit). Only for servers you trust.
    #[serde(default = "__defaults::auth_oauth__allow_issuer_mismatch")]
    pub allow_issuer_mismatch: bool,
}
impl ::std::default::Default for AuthOauth {
    fn default() -> Self {
        AuthOauth {
            scopes: __defaults::auth_oauth__scopes(),
            client_name: __defaults::auth_oauth__client_name(),
            open_browser: __defaults::auth_oauth__open_browser(),
            callback_port: __defaults::auth_oauth__callback_port(),
            client_id: ::std::option::Option::None,
            client_secret: ::std::option::Option::None,
            grant: __defaults::auth_oauth__grant(),
            client_metadata_url: ::std::option::Option::None,
            client_id_command: ::std::option::Option::None,
            client_secret_command: ::std::option::Option::None,
            allow_issuer_mismatch: __defaults::auth_oauth__allow_issuer_mismatch(),
        }
    }
}
/// How tokens are obtained: authorization_code (a user's consent in a browser, the default) or client_credentials (machine to machine with client_id and client_secret, no user; an MCP extension some servers support).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
pub enum OauthGrant {
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    #[serde(rename = "client_credentials")]
    ClientCredentials,
}
impl OauthGrant {
    /// The value as written in the configuration.
    pub fn as_str(&self) -> &'static str {
        match self {
            OauthGrant::AuthorizationCode => "authorization_code",
            OauthGrant::ClientCredentials => "client_credentials",
        }
    }
}
impl ::std::fmt::Display for OauthGrant {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        f.write_str(self.as_str())
    }
}
/// Configuration of mcpmux, one MCP endpoint in front of many MCP servers. Strings may use ${VAR} (error if unset), ${VAR:-default} and $$ for a literal $.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The one endpoint MCP clients connect to.
    #[serde(default = "__defaults::config__listen")]
    pub listen: Listen,
    /// Run interactive OAuth consents at startup instead of on first use (accepted for compatibility with the Go mcpmux).
    #[serde(default = "__defaults::config__eager_auth")]
    pub eager_auth: bool,
    /// What happens when a backend cannot be reached at startup.
    #[serde(default = "__defaults::config__connect_retry")]
    pub connect_retry: ConnectRetry,
    /// Whether OAuth tokens are kept across restarts.
    #[serde(default = "__defaults::config__token_store")]
    pub token_store: TokenStore,
    /// The MCP servers mcpmux multiplexes. Each one's tools are exposed as <name>__<tool>.
    #[serde(default = "__defaults::config__backends")]
    pub backends: ::std::vec::Vec<Backend>,
    /// Named views of the backends, each served at <listen.path>/<name>: one daemon, one set of backend connections and credentials, several catalogs (for example a read-only one, or one per project).
    #[serde(default = "__defaults::config__profiles")]
    pub profiles: ::std::collections::BTreeMap<::std::string::String, Profile>,
}
impl ::std::default::Default for Config {
    fn default() -> Self {
        Config {
            listen: __defaults::config__listen(),
            eager_auth: __defaults::config__eager_auth(),
            connect_retry: __defaults::config__connect_retry(),
            token_store: __defaults::config__token_store(),
            backends: __defaults::config__backends(),
            profiles: __defaults::config__profiles(),
        }
    }
}
/// The one endpoint MCP clients connect to.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// How clients reach mcpmux: stdio (the client starts mcpmux as a subprocess) or http (streamable HTTP at address + path).
    #[serde(default = "__defaults::listen__transport")]
    pub transport: ListenTransport,
    /// host:port to bind when transport is http, or unix:/path for a unix-domain socket (created mode 0600; only the same user may connect). Keep a TCP address on loopback unless clients authenticate. A socket passed by systemd (socket activation) wins over this.
    #[serde(default = "__defaults::listen__address")]
    pub address: ::std::string::String,
    /// URL path of the MCP endpoint when transport is http; clients connect to http://<address><path>, and to a profile at <path>/<profile>.
    #[serde(default = "__defaults::listen__path")]
    pub path: ::std::string::String,
    /// Most tools returned in one tools/list page; clients follow nextCursor for the rest.
    #[serde(default = "__defaults::listen__page_size")]
    pub page_size: u32,
    /// What clients of the whole catalog see in tools/list (profiles may choose otherwise): all, or search (search_tools and call_tool instead of the catalog; the full list stays at <path>/all).
    #[serde(default = "__defaults::listen__tool_mode")]
    pub tool_mode: ToolMode,
    /// Serve Prometheus metrics over plain HTTP at this host:port, path /metrics: per backend, requests by method, failures by kind, a latency histogram, up, and reconnects. Any transport (stdio too); if the address cannot be bound, mcpmux warns and serves MCP without it. Unset: no metrics endpoint.
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub metrics: ::std::option::Option<::std::string::String>,
    /// Largest request body a client may send over HTTP; a larger one gets 413 and is not read further.
    #[serde(default = "__defaults::listen__max_body_bytes")]
    pub max_body_bytes: u32,
    /// How long a client may take to send a request's headers over HTTP before its connection is closed (against slow-header attacks).
    #[serde(
        default = "__defaults::listen__header_timeout",
        with = "crate::config::support::duration"
    )]
    #[schemars(with = "String")]
    pub header_timeout: ::std::time::Duration,
    /// How long a 2025-11-25 client session over HTTP may stay idle — no request, no call in progress and no open stream — before mcpmux ends it and frees what it holds; the client's next request with its session id gets 404 and it starts a new session. A session with a call in progress or an open stream is not idle; 0 keeps sessions until the client closes them. Stateless 2026-07-28 requests hold no session.
    #[serde(
        default = "__defaults::listen__session_idle_timeout",
        with = "crate::config::support::duration"
    )]
    #[schemars(with = "String")]
    pub session_idle_timeout: ::std::time::Duration,
    /// How clients authenticate to mcpmux over HTTP. On a unix socket, the peer's user must be mcpmux's own in any case.
    #[serde(default = "__defaults::listen__auth")]
    pub auth: ClientAuth,
    /// Browser origins (scheme://host:port, :* for any port) whose requests are served besides loopback ones (http://localhost, 127.0.0.1 and [::1] on any port). A request with any other Origin header gets 403 (DNS-rebinding protection).
    #[serde(default = "__defaults::listen__allowed_origins")]
    pub allowed_origins: ::std::vec::Vec<::std::string::String>,
}
impl ::std::default::Default for Listen {
    fn default() -> Self {
        Listen {
            transport: __defaults::listen__transport(),
            address: __defaults::listen__address(),
            path: __defaults::listen__path(),
            page_size: __defaults::listen__page_size(),
            tool_mode: __defaults::listen__tool_mode(),
            metrics: ::std::option::Option::None,
            max_body_bytes: __defaults::listen__max_body_bytes(),
            header_timeout: __defaults::listen__header_timeout(),
            session_idle_timeout: __defaults::listen__session_idle_timeout(),
            auth: __defaults::listen__auth(),
            allowed_origins: __defaults::listen__allowed_origins(),
        }
    }
}
/// How clients reach mcpmux: stdio (the client starts mcpmux as a subprocess) or http (streamable HTTP at address + path).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
pub enum ListenTransport {
    #[serde(rename = "stdio")]
    Stdio,
    #[serde(rename = "http")]
    Http,
}
impl ListenTransport {
    /// The value as written in the configuration.
    pub fn as_str(&self) -> &'static str {
        match self {
            ListenTransport::Stdio => "stdio",
            ListenTransport::Http => "http",
        }
    }
}
impl ::std::fmt::Display for ListenTransport {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        f.write_str(self.as_str())
    }
}
/// What clients see in tools/list. all: every tool. search: two tools instead, to save the client's context on large catalogs — search_tools, which ranks the tools (BM25 over names, descriptions and parameter names) and returns each hit's name, description and input schema, and call_tool, which calls a tool by its name; every tool stays callable by its own name too, and over HTTP the full list is served at <its path>/all.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
pub enum ToolMode {
    #[serde(rename = "all")]
    All,
    #[serde(rename = "search")]
    Search,
}
impl ToolMode {
    /// The value as written in the configuration.
    pub fn as_str(&self) -> &'static str {
        match self {
            ToolMode::All => "all",
            ToolMode::Search => "search",
        }
    }
}
impl ::std::fmt::Display for ToolMode {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        f.write_str(self.as_str())
    }
}
/// Retrying backends that cannot be reached at startup.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct ConnectRetry {
    /// Keep retrying an unreachable backend in the background (true) or skip it (false).
    #[serde(default = "__defaults::connect_retry__enabled")]
    pub enabled: bool,
    /// Ceiling of the exponential backoff between attempts.
    #[serde(
        default = "__defaults::connect_retry__max_delay",
        with = "crate::config::support::duration"
    )]
    #[schemars(with = "String")]
    pub max_delay: ::std::time::Duration,
    /// Bound on one connect attempt, so a backend that never answers cannot wedge startup.
    #[serde(
        default = "__defaults::connect_retry__attempt_timeout",
        with = "crate::config::support::duration"
    )]
    #[schemars(with = "String")]
    pub attempt_timeout: ::std::time::Duration,
}
impl ::std::default::Default for ConnectRetry {
    fn default() -> Self {
        ConnectRetry {
            enabled: __defaults::connect_retry__enabled(),
            max_delay: __defaults::connect_retry__max_delay(),
            attempt_timeout: __defaults::connect_retry__attempt_timeout(),
        }
    }
}
/// Persistence of OAuth tokens.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct TokenStore {
    /// Keep OAuth tokens across restarts (false: memory only, consent again after every restart).
    #[serde(default = "__defaults::token_store__enabled")]
    pub enabled: bool,
}
impl ::std::default::Default for TokenStore {
    fn default() -> Self {
        TokenStore {
            enabled: __defaults::token_store__enabled(),
        }
    }
}
/// A named view of the backends: a subset of them and of their tools and prompts, served at <listen.path>/<name> (and to clients whose token names it), over the same backend connections and credentials. A client of a profile can list, call, read or subscribe to nothing outside it.
#[derive(
    Debug,
    Clone,
    PartialEq,
    ::serde::Deserialize,
    ::serde::Serialize,
    ::schemars::JsonSchema
)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// What the profile is for (shown by mcpmux list).
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub description: ::std::option::Option<::std::string::String>,
    /// The backends in the profile, by name (absent: every backend). Their resources and resource templates come with them.
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub backends: ::std::option::Option<::std::vec::Vec<::std::string::String>>,
    /// Which tools of those backends the profile offers, by glob patterns on the names clients see (github__create_issue).
    #[serde(default = "__defaults::profile__tools")]
    pub tools: Filter,
    /// Which prompts of those backends the profile offers, by glob patterns on the names clients see.
    #[serde(default = "__defaults::profile__prompts")]
    pub prompts: Filter,
    /// all or search, as listen.tool_mode (absent: listen.tool_mode); in search mode the profile's full list is at <path>/<name>/all.
    #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
    pub tool_mode: ::std::option::Option<ToolMode>,
}
impl ::std::default::Default for Profile {
    fn default() -> Self {
        Profile {
            description: ::std::option::Option::None,
            backends: ::std::option::Option::None,
            tools: __defaults::profile__tools(),
            prompts: __defaults::profile__prompts(),
            tool_mode: ::std::option::Option::None,
        }
    }
}
#[allow(non_snake_case)]
mod __defaults {
    #[allow(unused_imports)]
    use super::*;
    pub(super) fn client_auth_bearer__tokens() -> ::std::vec::Vec<
        crate::config::support::Secret,
    > {
        ::std::vec![]
    }
    pub(super) fn client_auth_bearer__profiles() -> ::std::collections::BTreeMap<
        ::std::string::String,
        ::std::vec::Vec<crate::config::support::Secret>,
    > {
        ::std::collections::BTreeMap::from([])
    }
    pub(super) fn command_backend__tools() -> Filter {
        <Filter as ::std::default::Default>::default()
    }
    pub(super) fn command_backend__prompts() -> Filter {
        <Filter as ::std::default::Default>::default()
    }
    pub(super) fn command_backend__resources() -> Filter {
        <Filter as ::std::default::Default>::default()
    }
    pub(super) fn command_backend__env() -> ::std::collections::BTreeMap<
        ::std::string::String,
        crate::config::support::Secret,
    > {
        ::std::collections::BTreeMap::from([])
    }
    pub(super) fn command_backend__env_passthrough() -> ::std::vec::Vec<
        ::std::string::String,
    > {
        ::std::vec![]
    }
    pub(super) fn command_backend__timeout() -> ::std::time::Duration {
        crate::config::support::duration::parse("5m")
            .expect("checked at generation time")
    }
    pub(super) fn command_backend__max_message_bytes() -> u32 {
        16777216
    }
    pub(super) fn filter__deny() -> ::std::vec::Vec<::std::string::String> {
        ::std::vec![]
    }
    pub(super) fn http_backend__tools() -> Filter {
        <Filter as ::std::default::Default>::default()
    }
    pub(super) fn http_backend__prompts() -> Filter {
        <Filter as ::std::default::Default>::default()
    }
    pub(super) fn http_backend__resources() -> Filter {
        <Filter as ::std::default::Default>::default()
    }
    pub(super) fn http_backend__auth() -> Auth {
        Auth::None(<AuthNone as ::std::default::Default>::default())
    }
    pub(super) fn http_backend__timeout() -> ::std::time::Duration {
        crate::config::support::duration::parse("5m")
            .expect("checked at generation time")
    }
    pub(super) fn auth_command__ttl() -> ::std::time::Duration {
        crate::config::support::duration::parse("5m")
            .expect("checked at generation time")
    }
    pub(super) fn auth_oauth__scopes() -> ::std::vec::Vec<::std::string::String> {
        ::std::vec![]
    }
    pub(super) fn auth_oauth__client_name() -> ::std::string::String {
        ::std::string::String::from("mcpmux")
    }
    pub(super) fn auth_oauth__open_browser() -> bool {
        true
    }
    pub(super) fn auth_oauth__callback_port() -> u16 {
        0
    }
    pub(super) fn auth_oauth__grant() -> OauthGrant {
        OauthGrant::AuthorizationCode
    }
    pub(super) fn auth_oauth__allow_issuer_mismatch() -> bool {
        false
    }
    pub(super) fn config__listen() -> Listen {
        <Listen as ::std::default::Default>::default()
    }
    pub(super) fn config__eager_auth() -> bool {
        false
    }
    pub(super) fn config__connect_retry() -> ConnectRetry {
        <ConnectRetry as ::std::default::Default>::default()
    }
    pub(super) fn config__token_store() -> TokenStore {
        <TokenStore as ::std::default::Default>::default()
    }
    pub(super) fn config__backends() -> ::std::vec::Vec<Backend> {
        ::std::vec![]
    }
    pub(super) fn config__profiles() -> ::std::collections::BTreeMap<
        ::std::string::String,
        Profile,
    > {
        ::std::collections::BTreeMap::from([])
    }
    pub(super) fn listen__transport() -> ListenTransport {
        ListenTransport::Stdio
    }
    pub(super) fn listen__address() -> ::std::string::String {
        ::std::string::String::from("127.0.0.1:8080")
    }
    pub(super) fn listen__path() -> ::std::string::String {
        ::std::string::String::from("/mcp")
    }
    pub(super) fn listen__page_size() -> u32 {
        1000
    }
    pub(super) fn listen__tool_mode() -> ToolMode {
        ToolMode::All
    }
    pub(super) fn listen__max_body_bytes() -> u32 {
        4194304
    }
    pub(super) fn listen__header_timeout() -> ::std::time::Duration {
        crate::config::support::duration::parse("30s")
            .expect("checked at generation time")
    }
    pub(super) fn listen__session_idle_timeout() -> ::std::time::Duration {
        crate::config::support::duration::parse("30m")
            .expect("checked at generation time")
    }
    pub(super) fn listen__auth() -> ClientAuth {
        ClientAuth::None(<ClientAuthNone as ::std::default::Default>::default())
    }
    pub(super) fn listen__allowed_origins() -> ::std::vec::Vec<::std::string::String> {
        ::std::vec![]
    }
    pub(super) fn connect_retry__enabled() -> bool {
        true
    }
    pub(super) fn connect_retry__max_delay() -> ::std::time::Duration {
        crate::config::support::duration::parse("15m")
            .expect("checked at generation time")
    }
    pub(super) fn connect_retry__attempt_timeout() -> ::std::time::Duration {
        crate::config::support::duration::parse("2m")
            .expect("checked at generation time")
    }
    pub(super) fn token_store__enabled() -> bool {
        true
    }
    pub(super) fn profile__tools() -> Filter {
        <Filter as ::std::default::Default>::default()
    }
    pub(super) fn profile__prompts() -> Filter {
        <Filter as ::std::default::Default>::default()
    }
}
impl Config {
    /// The JSON Schema these types were generated from.
    pub const SCHEMA: &'static str = include_str!(
        "../../../../schema/mcpmux.schema.json"
    );
    /// Every violation of the schema in `value`, each with its JSON pointer.
    pub fn validate(
        value: &::serde_json::Value,
    ) -> ::std::vec::Vec<crate::config::support::ValidationError> {
        let mut errors = crate::config::support::Errors::default();
        __validate::validate_root(
            value,
            &mut crate::config::support::Path::default(),
            &mut errors,
        );
        errors.into_vec()
    }
    /// Validates `value`, then builds the typed configuration from it
    /// (an integer written with a zero fraction, such as YAML's `1.0`,
    /// is the integer, as JSON Schema counts it).
    pub fn from_value(
        mut value: ::serde_json::Value,
    ) -> ::std::result::Result<
        Self,
        ::std::vec::Vec<crate::config::support::ValidationError>,
    > {
        let errors = Self::validate(&value);
        if !errors.is_empty() {
            return ::std::result::Result::Err(errors);
        }
        crate::config::support::integral_numbers(&mut value);
        ::serde_json::from_value(value)
            .map_err(|e| ::std::vec::Vec::from([
                crate::config::support::ValidationError::internal(e),
            ]))
    }
}
#[allow(unused_variables, clippy::all)]
mod __validate {
    use ::serde_json::Value;
    use crate::config::support::{Errors, Path, Regex};
    static RE_0: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new("^[a-z0-9][a-z0-9_-]*$").expect("pattern checked at generation time")
    });
    static RE_1: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new(
                "^(unix:/.+|\\S*:([0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))$",
            )
            .expect("pattern checked at generation time")
    });
    static RE_2: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new("^/").expect("pattern checked at generation time")
    });
    static RE_3: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new("^\\S+:[0-9]{1,5}$").expect("pattern checked at generation time")
    });
    static RE_4: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new("^(null|[a-z][a-z0-9+.-]*://[^/?#\\s]+)$")
            .expect("pattern checked at generation time")
    });
    static RE_5: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new("^[a-z0-9][a-z0-9_-]*$").expect("pattern checked at generation time")
    });
    static RE_6: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new("^[a-z0-9-]+(_[a-z0-9-]+)*$")
            .expect("pattern checked at generation time")
    });
    static RE_7: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new("^[A-Za-z_][A-Za-z0-9_]*$")
            .expect("pattern checked at generation time")
    });
    static RE_8: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new("^[A-Za-z_][A-Za-z0-9_]*\\*?$")
            .expect("pattern checked at generation time")
    });
    static RE_9: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new("^[hH][tT][tT][pP][sS]?://[^/?#\\s]+")
            .expect("pattern checked at generation time")
    });
    static RE_10: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
            .expect("pattern checked at generation time")
    });
    static RE_11: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new("^https://[^/?#]+/[^?#]+$")
            .expect("pattern checked at generation time")
    });
    static RE_12: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new("^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$")
            .expect("pattern checked at generation time")
    });
    static RE_13: ::std::sync::LazyLock<Regex> = ::std::sync::LazyLock::new(|| {
        Regex::new("^([A-Za-z0-9.-]+(_[A-Za-z0-9.-]+)*)?$")
            .expect("pattern checked at generation time")
    });
    pub(super) fn validate_root(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(
                o,
                p,
                &[
                    "listen",
                    "eager_auth",
                    "connect_retry",
                    "token_store",
                    "backends",
                    "profiles",
                ],
            );
            if let Some(v) = o.get("listen") {
                p.key("listen");
                validate_listen(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("eager_auth") {
                p.key("eager_auth");
                e.boolean(v, p);
                p.pop();
            }
            if let Some(v) = o.get("connect_retry") {
                p.key("connect_retry");
                validate_connect_retry(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("token_store") {
                p.key("token_store");
                validate_token_store(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("backends") {
                p.key("backends");
                if let Some(a) = e.array(v, p) {
                    for (i, v) in a.iter().enumerate() {
                        p.index(i);
                        validate_backend(v, p, e);
                        p.pop();
                    }
                    e.unique_by(a, p, "name");
                }
                p.pop();
            }
            if let Some(v) = o.get("profiles") {
                p.key("profiles");
                if let Some(o) = e.object(v, p) {
                    for k in o.keys() {
                        e.key_pattern(
                            k,
                            p,
                            &RE_0,
                            "must be lowercase letters, digits, - and _, starting with a letter or digit",
                            ::std::option::Option::Some(
                                "for example coding or read-only",
                            ),
                        );
                    }
                    for (k, v) in o {
                        p.key(k);
                        validate_profile(v, p, e);
                        p.pop();
                    }
                }
                p.pop();
            }
        }
    }
    fn validate_listen(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(
                o,
                p,
                &[
                    "transport",
                    "address",
                    "path",
                    "page_size",
                    "tool_mode",
                    "metrics",
                    "max_body_bytes",
                    "header_timeout",
                    "session_idle_timeout",
                    "auth",
                    "allowed_origins",
                ],
            );
            if let Some(v) = o.get("transport") {
                p.key("transport");
                e.string_enum(v, p, &["stdio", "http"]);
                p.pop();
            }
            if let Some(v) = o.get("address") {
                p.key("address");
                let mark = e.mark();
                if let Some(s) = e.string(v, p) {
                    e.pattern(
                        s,
                        p,
                        &RE_1,
                        "must be host:port (a port from 0 to 65535) or unix:/absolute/path",
                        true,
                    );
                }
                e.hint_since(
                    mark,
                    "write it like 127.0.0.1:8080 or unix:/run/user/1000/mcpmux.sock",
                );
                p.pop();
            }
            if let Some(v) = o.get("path") {
                p.key("path");
                if let Some(s) = e.string(v, p) {
                    e.pattern(s, p, &RE_2, "must start with /", true);
                }
                p.pop();
            }
            if let Some(v) = o.get("page_size") {
                p.key("page_size");
                if let Some(n) = e.integer(v, p) {
                    e.minimum(n, p, 1i64);
                    e.maximum(n, p, 100000i64);
                }
                p.pop();
            }
            if let Some(v) = o.get("tool_mode") {
                p.key("tool_mode");
                validate_tool_mode(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("metrics") {
                p.key("metrics");
                let mark = e.mark();
                if let Some(s) = e.string(v, p) {
                    e.pattern(s, p, &RE_3, "must be host:port", true);
                }
                e.hint_since(mark, "for example 127.0.0.1:9464");
                p.pop();
            }
            if let Some(v) = o.get("max_body_bytes") {
                p.key("max_body_bytes");
                if let Some(n) = e.integer(v, p) {
                    e.minimum(n, p, 1024i64);
                    e.maximum(n, p, 1073741824i64);
                }
                p.pop();
            }
            if let Some(v) = o.get("header_timeout") {
                p.key("header_timeout");
                validate_duration(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("session_idle_timeout") {
                p.key("session_idle_timeout");
                validate_duration(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("auth") {
                p.key("auth");
                validate_client_auth(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("allowed_origins") {
                p.key("allowed_origins");
                if let Some(a) = e.array(v, p) {
                    for (i, v) in a.iter().enumerate() {
                        p.index(i);
                        let mark = e.mark();
                        if let Some(s) = e.string(v, p) {
                            e.pattern(
                                s,
                                p,
                                &RE_4,
                                "must be an origin such as https://app.example.com or http://localhost:*",
                                true,
                            );
                        }
                        e.hint_since(mark, "scheme://host[:port], without a path");
                        p.pop();
                    }
                }
                p.pop();
            }
        }
    }
    fn validate_client_auth(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            match o.get("type") {
                ::std::option::Option::None => {
                    e.missing_tag(
                        o,
                        p,
                        "type",
                        &["none", "bearer"],
                        &[&[], &["tokens", "profiles"]],
                    )
                }
                ::std::option::Option::Some(t) => {
                    match t.as_str() {
                        ::std::option::Option::Some("none") => {
                            validate_client_auth_none(v, p, e)
                        }
                        ::std::option::Option::Some("bearer") => {
                            validate_client_auth_bearer(v, p, e)
                        }
                        _ => {
                            p.key("type");
                            e.bad_tag(t, p, &["none", "bearer"]);
                            p.pop();
                        }
                    }
                }
            }
        }
    }
    fn validate_client_auth_none(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(o, p, &["type"]);
            e.required(o, p, &["type"]);
            if let Some(v) = o.get("type") {
                p.key("type");
                e.constant(v, p, "none");
                p.pop();
            }
        }
    }
    fn validate_client_auth_bearer(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(o, p, &["type", "tokens", "profiles"]);
            e.required(o, p, &["type"]);
            if let Some(v) = o.get("type") {
                p.key("type");
                e.constant(v, p, "bearer");
                p.pop();
            }
            if let Some(v) = o.get("tokens") {
                p.key("tokens");
                if let Some(a) = e.array(v, p) {
                    for (i, v) in a.iter().enumerate() {
                        p.index(i);
                        validate_client_token(v, p, e);
                        p.pop();
                    }
                }
                p.pop();
            }
            if let Some(v) = o.get("profiles") {
                p.key("profiles");
                if let Some(o) = e.object(v, p) {
                    for k in o.keys() {
                        e.key_pattern(
                            k,
                            p,
                            &RE_5,
                            "is not a profile name",
                            ::std::option::Option::Some(
                                "name a profile under the top-level profiles key",
                            ),
                        );
                    }
                    for (k, v) in o {
                        p.key(k);
                        if let Some(a) = e.array(v, p) {
                            e.min_items(a, p, 1u64);
                            for (i, v) in a.iter().enumerate() {
                                p.index(i);
                                validate_client_token(v, p, e);
                                p.pop();
                            }
                        }
                        p.pop();
                    }
                }
                p.pop();
            }
        }
    }
    fn validate_client_token(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(s) = e.string(v, p) {
            e.min_length(s, p, 16u64);
        }
    }
    fn validate_connect_retry(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(o, p, &["enabled", "max_delay", "attempt_timeout"]);
            if let Some(v) = o.get("enabled") {
                p.key("enabled");
                e.boolean(v, p);
                p.pop();
            }
            if let Some(v) = o.get("max_delay") {
                p.key("max_delay");
                validate_duration(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("attempt_timeout") {
                p.key("attempt_timeout");
                validate_duration(v, p, e);
                p.pop();
            }
        }
    }
    fn validate_token_store(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(o, p, &["enabled"]);
            if let Some(v) = o.get("enabled") {
                p.key("enabled");
                e.boolean(v, p);
                p.pop();
            }
        }
    }
    fn validate_backend(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            match o.get("transport") {
                ::std::option::Option::None => {
                    e.missing_tag(
                        o,
                        p,
                        "transport",
                        &["command", "http"],
                        &[
                            &[
                                "name",
                                "description",
                                "prefix",
                                "tools",
                                "prompts",
                                "resources",
                                "command",
                                "env",
                                "env_passthrough",
                                "timeout",
                                "max_message_bytes",
                            ],
                            &[
                                "name",
                                "description",
                                "prefix",
                                "tools",
                                "prompts",
                                "resources",
                                "endpoint",
                                "auth",
                                "timeout",
                            ],
                        ],
                    )
                }
                ::std::option::Option::Some(t) => {
                    match t.as_str() {
                        ::std::option::Option::Some("command") => {
                            validate_command_backend(v, p, e)
                        }
                        ::std::option::Option::Some("http") => {
                            validate_http_backend(v, p, e)
                        }
                        _ => {
                            p.key("transport");
                            e.bad_tag(t, p, &["command", "http"]);
                            p.pop();
                        }
                    }
                }
            }
        }
    }
    fn validate_backend_name(v: &Value, p: &mut Path, e: &mut Errors) {
        let mark = e.mark();
        if let Some(s) = e.string(v, p) {
            let before = e.mark();
            e.min_length(s, p, 1u64);
            e.max_length(s, p, 64u64);
            if e.mark() == before {
                e.pattern(
                    s,
                    p,
                    &RE_6,
                    "must be lowercase letters, digits, - and single _ between them (no __, no leading or trailing _)",
                    true,
                );
            }
        }
        e.hint_since(mark, "for example github or my-server");
    }
    fn validate_description(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(s) = e.string(v, p) {}
    }
    fn validate_argv(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(a) = e.array(v, p) {
            e.min_items(a, p, 1u64);
            for (i, v) in a.iter().enumerate() {
                p.index(i);
                if let Some(s) = e.string(v, p) {}
                p.pop();
            }
        }
    }
    fn validate_command_backend(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(
                o,
                p,
                &[
                    "name",
                    "description",
                    "prefix",
                    "tools",
                    "prompts",
                    "resources",
                    "transport",
                    "command",
                    "env",
                    "env_passthrough",
                    "timeout",
                    "max_message_bytes",
                ],
            );
            e.required(o, p, &["name", "transport", "command"]);
            if let Some(v) = o.get("name") {
                p.key("name");
                validate_backend_name(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("description") {
                p.key("description");
                validate_description(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("prefix") {
                p.key("prefix");
                validate_prefix(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("tools") {
                p.key("tools");
                validate_filter(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("prompts") {
                p.key("prompts");
                validate_filter(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("resources") {
                p.key("resources");
                validate_filter(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("transport") {
                p.key("transport");
                e.constant(v, p, "command");
                p.pop();
            }
            if let Some(v) = o.get("command") {
                p.key("command");
                validate_argv(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("env") {
                p.key("env");
                if let Some(o) = e.object(v, p) {
                    for k in o.keys() {
                        e.key_pattern(
                            k,
                            p,
                            &RE_7,
                            "is not an environment variable name",
                            ::std::option::Option::Some(
                                "use letters, digits and _, not starting with a digit",
                            ),
                        );
                    }
                    for (k, v) in o {
                        p.key(k);
                        validate_secret(v, p, e);
                        p.pop();
                    }
                }
                p.pop();
            }
            if let Some(v) = o.get("env_passthrough") {
                p.key("env_passthrough");
                if let Some(a) = e.array(v, p) {
                    for (i, v) in a.iter().enumerate() {
                        p.index(i);
                        if let Some(s) = e.string(v, p) {
                            e.pattern(
                                s,
                                p,
                                &RE_8,
                                "is not an environment variable name (or NAME_* pattern)",
                                true,
                            );
                        }
                        p.pop();
                    }
                }
                p.pop();
            }
            if let Some(v) = o.get("timeout") {
                p.key("timeout");
                validate_duration(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("max_message_bytes") {
                p.key("max_message_bytes");
                if let Some(n) = e.integer(v, p) {
                    e.minimum(n, p, 1024i64);
                    e.maximum(n, p, 1073741824i64);
                }
                p.pop();
            }
        }
    }
    fn validate_http_backend(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(
                o,
                p,
                &[
                    "name",
                    "description",
                    "prefix",
                    "tools",
                    "prompts",
                    "resources",
                    "transport",
                    "endpoint",
                    "auth",
                    "timeout",
                ],
            );
            e.required(o, p, &["name", "transport", "endpoint"]);
            if let Some(v) = o.get("name") {
                p.key("name");
                validate_backend_name(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("description") {
                p.key("description");
                validate_description(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("prefix") {
                p.key("prefix");
                validate_prefix(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("tools") {
                p.key("tools");
                validate_filter(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("prompts") {
                p.key("prompts");
                validate_filter(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("resources") {
                p.key("resources");
                validate_filter(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("transport") {
                p.key("transport");
                e.constant(v, p, "http");
                p.pop();
            }
            if let Some(v) = o.get("endpoint") {
                p.key("endpoint");
                let mark = e.mark();
                if let Some(s) = e.string(v, p) {
                    if e.uri(s, p, "must be an absolute http or https URL", true) {
                        e.pattern(
                            s,
                            p,
                            &RE_9,
                            "must be an absolute http or https URL",
                            true,
                        );
                    }
                }
                e.hint_since(mark, "for example https://mcp.example.com/mcp");
                p.pop();
            }
            if let Some(v) = o.get("auth") {
                p.key("auth");
                validate_auth(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("timeout") {
                p.key("timeout");
                validate_duration(v, p, e);
                p.pop();
            }
        }
    }
    fn validate_auth(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            match o.get("type") {
                ::std::option::Option::None => {
                    e.missing_tag(
                        o,
                        p,
                        "type",
                        &["none", "bearer", "header", "command", "oauth"],
                        &[
                            &[],
                            &["token"],
                            &["header", "value"],
                            &["command", "ttl"],
                            &[
                                "scopes",
                                "client_name",
                                "open_browser",
                                "callback_port",
                                "client_id",
                                "client_secret",
                                "grant",
                                "client_metadata_url",
                                "client_id_command",
                                "client_secret_command",
                                "allow_issuer_mismatch",
                            ],
                        ],
                    )
                }
                ::std::option::Option::Some(t) => {
                    match t.as_str() {
                        ::std::option::Option::Some("none") => {
                            validate_auth_none(v, p, e)
                        }
                        ::std::option::Option::Some("bearer") => {
                            validate_auth_bearer(v, p, e)
                        }
                        ::std::option::Option::Some("header") => {
                            validate_auth_header(v, p, e)
                        }
                        ::std::option::Option::Some("command") => {
                            validate_auth_command(v, p, e)
                        }
                        ::std::option::Option::Some("oauth") => {
                            validate_auth_oauth(v, p, e)
                        }
                        _ => {
                            p.key("type");
                            e.bad_tag(
                                t,
                                p,
                                &["none", "bearer", "header", "command", "oauth"],
                            );
                            p.pop();
                        }
                    }
                }
            }
        }
    }
    fn validate_auth_none(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(o, p, &["type"]);
            e.required(o, p, &["type"]);
            if let Some(v) = o.get("type") {
                p.key("type");
                e.constant(v, p, "none");
                p.pop();
            }
        }
    }
    fn validate_auth_bearer(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(o, p, &["type", "token"]);
            e.required(o, p, &["type", "token"]);
            if let Some(v) = o.get("type") {
                p.key("type");
                e.constant(v, p, "bearer");
                p.pop();
            }
            if let Some(v) = o.get("token") {
                p.key("token");
                validate_secret(v, p, e);
                p.pop();
            }
        }
    }
    fn validate_auth_header(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(o, p, &["type", "header", "value"]);
            e.required(o, p, &["type", "header", "value"]);
            if let Some(v) = o.get("type") {
                p.key("type");
                e.constant(v, p, "header");
                p.pop();
            }
            if let Some(v) = o.get("header") {
                p.key("header");
                let mark = e.mark();
                if let Some(s) = e.string(v, p) {
                    e.pattern(s, p, &RE_10, "is not a valid HTTP header name", true);
                }
                e.hint_since(mark, "for example X-Api-Key");
                p.pop();
            }
            if let Some(v) = o.get("value") {
                p.key("value");
                validate_secret(v, p, e);
                p.pop();
            }
        }
    }
    fn validate_auth_command(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(o, p, &["type", "command", "ttl"]);
            e.required(o, p, &["type", "command"]);
            if let Some(v) = o.get("type") {
                p.key("type");
                e.constant(v, p, "command");
                p.pop();
            }
            if let Some(v) = o.get("command") {
                p.key("command");
                validate_argv(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("ttl") {
                p.key("ttl");
                validate_duration(v, p, e);
                p.pop();
            }
        }
    }
    fn validate_auth_oauth(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(
                o,
                p,
                &[
                    "type",
                    "scopes",
                    "client_name",
                    "open_browser",
                    "callback_port",
                    "client_id",
                    "client_secret",
                    "grant",
                    "client_metadata_url",
                    "client_id_command",
                    "client_secret_command",
                    "allow_issuer_mismatch",
                ],
            );
            e.required(o, p, &["type"]);
            e.exclusive(o, p, &["client_id", "client_id_command"]);
            e.exclusive(o, p, &["client_secret", "client_secret_command"]);
            if let Some(v) = o.get("type") {
                p.key("type");
                e.constant(v, p, "oauth");
                p.pop();
            }
            if let Some(v) = o.get("scopes") {
                p.key("scopes");
                if let Some(a) = e.array(v, p) {
                    for (i, v) in a.iter().enumerate() {
                        p.index(i);
                        if let Some(s) = e.string(v, p) {
                            e.min_length(s, p, 1u64);
                        }
                        p.pop();
                    }
                }
                p.pop();
            }
            if let Some(v) = o.get("client_name") {
                p.key("client_name");
                if let Some(s) = e.string(v, p) {
                    e.min_length(s, p, 1u64);
                }
                p.pop();
            }
            if let Some(v) = o.get("open_browser") {
                p.key("open_browser");
                e.boolean(v, p);
                p.pop();
            }
            if let Some(v) = o.get("callback_port") {
                p.key("callback_port");
                if let Some(n) = e.integer(v, p) {
                    e.minimum(n, p, 0i64);
                    e.maximum(n, p, 65535i64);
                }
                p.pop();
            }
            if let Some(v) = o.get("client_id") {
                p.key("client_id");
                if let Some(s) = e.string(v, p) {
                    e.min_length(s, p, 1u64);
                }
                p.pop();
            }
            if let Some(v) = o.get("client_secret") {
                p.key("client_secret");
                validate_secret(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("grant") {
                p.key("grant");
                e.string_enum(v, p, &["authorization_code", "client_credentials"]);
                p.pop();
            }
            if let Some(v) = o.get("client_metadata_url") {
                p.key("client_metadata_url");
                let mark = e.mark();
                if let Some(s) = e.string(v, p) {
                    e.pattern(s, p, &RE_11, "must be an https URL with a path", true);
                }
                e.hint_since(mark, "for example https://example.com/mcpmux/client.json");
                p.pop();
            }
            if let Some(v) = o.get("client_id_command") {
                p.key("client_id_command");
                validate_argv(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("client_secret_command") {
                p.key("client_secret_command");
                validate_argv(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("allow_issuer_mismatch") {
                p.key("allow_issuer_mismatch");
                e.boolean(v, p);
                p.pop();
            }
        }
    }
    fn validate_duration(v: &Value, p: &mut Path, e: &mut Errors) {
        let mark = e.mark();
        if let Some(s) = e.string(v, p) {
            if e.pattern(s, p, &RE_12, "is not a duration", true) {
                e.duration(
                    s,
                    p,
                    ::std::option::Option::Some((
                        ::std::time::Duration::new(604800u64, 0u32),
                        "168h",
                    )),
                );
            }
        }
        e.hint_since(mark, "write it like 90s, 5m, 1h or 1h30m");
    }
    fn validate_secret(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(s) = e.string(v, p) {}
    }
    fn validate_prefix(v: &Value, p: &mut Path, e: &mut Errors) {
        let mark = e.mark();
        if let Some(s) = e.string(v, p) {
            let before = e.mark();
            e.max_length(s, p, 48u64);
            if e.mark() == before {
                e.pattern(
                    s,
                    p,
                    &RE_13,
                    "must be letters, digits, ., - and single _ between them (no __, no leading or trailing _), or empty",
                    true,
                );
            }
        }
        e.hint_since(mark, "for example gh, or \"\" to keep the tools' own names");
    }
    fn validate_filter(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(o, p, &["allow", "deny"]);
            if let Some(v) = o.get("allow") {
                p.key("allow");
                if let Some(a) = e.array(v, p) {
                    for (i, v) in a.iter().enumerate() {
                        p.index(i);
                        validate_glob_pattern(v, p, e);
                        p.pop();
                    }
                }
                p.pop();
            }
            if let Some(v) = o.get("deny") {
                p.key("deny");
                if let Some(a) = e.array(v, p) {
                    for (i, v) in a.iter().enumerate() {
                        p.index(i);
                        validate_glob_pattern(v, p, e);
                        p.pop();
                    }
                }
                p.pop();
            }
        }
    }
    fn validate_glob_pattern(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(s) = e.string(v, p) {
            e.min_length(s, p, 1u64);
            e.max_length(s, p, 256u64);
        }
    }
    fn validate_tool_mode(v: &Value, p: &mut Path, e: &mut Errors) {
        e.string_enum(v, p, &["all", "search"]);
    }
    fn validate_profile(v: &Value, p: &mut Path, e: &mut Errors) {
        if let Some(o) = e.object(v, p) {
            e.unknown_keys(
                o,
                p,
                &["description", "backends", "tools", "prompts", "tool_mode"],
            );
            if let Some(v) = o.get("description") {
                p.key("description");
                if let Some(s) = e.string(v, p) {}
                p.pop();
            }
            if let Some(v) = o.get("backends") {
                p.key("backends");
                if let Some(a) = e.array(v, p) {
                    for (i, v) in a.iter().enumerate() {
                        p.index(i);
                        validate_backend_name(v, p, e);
                        p.pop();
                    }
                }
                p.pop();
            }
            if let Some(v) = o.get("tools") {
                p.key("tools");
                validate_filter(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("prompts") {
                p.key("prompts");
                validate_filter(v, p, e);
                p.pop();
            }
            if let Some(v) = o.get("tool_mode") {
                p.key("tool_mode");
                validate_tool_mode(v, p, e);
                p.pop();
            }
        }
    }
}
