//! MCP authorization (`auth.type: oauth`) for one HTTP backend, on rmcp's
//! OAuth manager: discovery from the 401 challenge or the well-known paths
//! (RFC 9728, then RFC 8414 / OpenID Connect, then the 2025-03-26 fallback
//! endpoints), client registration in the order MCP prefers (a configured
//! client, then a stored registration whose redirect URI still matches, then
//! a Client ID Metadata Document when the server supports it, then dynamic
//! registration), PKCE S256 and the `resource` parameter, refresh ahead of
//! expiry and after a 401, a step-up consent on 403 `insufficient_scope`,
//! and a new consent — not a loop — when a refresh token is refused. A
//! consent runs only once this backend may ask for one (at start-up with
//! `eager_auth`, else once a client arrives); until then the backend waits,
//! blocking no other, and picks up a login made out of band.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use rmcp::transport::auth::{
    AuthError, AuthorizationManager, AuthorizationMetadata, AuthorizationRequest, AuthorizationSession,
    ClientCredentialsConfig, OAuthClientConfig,
};
use tokio::sync::{Notify, RwLock};

use super::consent::{self, Callback};
use super::store::{Registration, Store};

/// Consecutive step-up consents after which a backend's 403s are final.
const MAX_STEP_UPS: u32 = 3;

/// A value given directly or printed by a command.
#[derive(Clone)]
pub enum Value {
    Given(String),
    Command(Vec<String>),
}

impl Value {
    async fn get(&self) -> Result<String, AuthError> {
        match self {
            Value::Given(v) => Ok(v.clone()),
            Value::Command(argv) => super::helper::run(argv).await.map_err(AuthError::InternalError),
        }
    }
}

/// What an OAuth backend is configured with.
#[derive(Clone)]
pub struct Settings {
    pub backend: String,
    pub endpoint: String,
    pub scopes: Vec<String>,
    pub client_name: String,
    pub open_browser: bool,
    pub callback_port: u16,
    pub client_id: Option<Value>,
    pub client_secret: Option<Value>,
    pub client_metadata_url: Option<String>,
    pub allow_issuer_mismatch: bool,
    /// Machine to machine (client credentials grant): no consent, no user.
    pub client_credentials: bool,
}

impl Settings {
    pub fn from_config(backend: &str, endpoint: &str, a: &crate::config::AuthOauth) -> Settings {
        Settings {
            backend: backend.to_string(),
            endpoint: endpoint.to_string(),
            scopes: a.scopes.clone(),
            client_name: a.client_name.clone(),
            open_browser: a.open_browser,
            callback_port: a.callback_port,
            client_id: a
                .client_id
                .clone()
                .map(Value::Given)
                .or_else(|| a.client_id_command.clone().map(Value::Command)),
            client_secret: a
                .client_secret
                .as_ref()
                .map(|s| Value::Given(s.expose().to_string()))
                .or_else(|| a.client_secret_command.clone().map(Value::Command)),
            client_metadata_url: a.client_metadata_url.clone(),
            allow_issuer_mismatch: a.allow_issuer_mismatch,
            client_credentials: a.grant == crate::config::OauthGrant::ClientCredentials,
        }
    }
}

/// A manager with tokens, and the client it acts as.
struct Active {
    m: AuthorizationManager,
    client_id: String,
}

/// One backend's OAuth state.
pub struct OAuth {
    pub settings: Settings,
    pub store: Store,
    manager: RwLock<Option<Active>>,
    /// Whether a consent may be asked for now.
    interactive: AtomicBool,
    /// A consent is needed and not yet allowed.
    awaiting: AtomicBool,
    allowed: Notify,
    step_ups: AtomicU32,
    /// Consents under way or queued (one runs at a time per process).
    consenting: AtomicU32,
    consent_ended: Notify,
    /// Consents completed (a request queued behind one uses its tokens).
    generation: AtomicU64,
    /// Consents completed since a request last succeeded: a 401 after a
    /// consent is final (another consent would loop the user through the browser).
    unanswered_consents: AtomicU32,
}

impl OAuth {
    pub fn new(settings: Settings, store: Store, interactive: bool) -> OAuth {
        OAuth {
            settings,
            store,
            manager: RwLock::new(None),
            interactive: AtomicBool::new(interactive),
            awaiting: AtomicBool::new(false),
            allowed: Notify::new(),
            step_ups: AtomicU32::new(0),
            consenting: AtomicU32::new(0),
            consent_ended: Notify::new(),
            generation: AtomicU64::new(0),
            unanswered_consents: AtomicU32::new(0),
        }
    }

    /// From now on a consent may be asked for (a client arrived).
    pub fn allow_consent(&self) {
        if !self.interactive.swap(true, Ordering::AcqRel) {
            self.allowed.notify_waiters();
            self.allowed.notify_one();
        }
    }

    /// Whether the backend is waiting for a consent it may not ask for yet.
    pub fn awaiting_consent(&self) -> bool {
        self.awaiting.load(Ordering::Acquire)
    }

    /// Returns when a consent may be asked for.
    pub async fn consent_allowed(&self) {
        while !self.interactive.load(Ordering::Acquire) {
            self.allowed.notified().await;
        }
    }

    /// What identifies the stored tokens (client and time received): it
    /// changes when a login is made out of band.
    pub fn stored_stamp(&self) -> Option<(String, Option<u64>)> {
        let c = self.store.read().ok()?.credentials?;
        c.token_response.as_ref()?;
        Some((c.client_id, c.token_received_at))
    }

    /// Whether a consent is under way or queued (a connection attempt
    /// waiting for it is not overdue).
    pub fn consenting(&self) -> bool {
        self.consenting.load(Ordering::Acquire) > 0
    }

    /// Returns once no consent of this backend is under way.
    pub async fn consent_ended(&self) {
        loop {
            let ended = self.consent_ended.notified();
            if !self.consenting() {
                return;
            }
            ended.await;
        }
    }

    async fn new_manager(&self) -> Result<AuthorizationManager, AuthError> {
        let mut m = AuthorizationManager::new_allowing_private_addresses(self.settings.endpoint.as_str()).await?;
        m.set_credential_store(self.store.clone());
        if self.settings.allow_issuer_mismatch {
            m.set_allow_missing_issuer(true);
        }
        Ok(m)
    }

    /// The authorization server's metadata, found from the challenge or the
    /// well-known paths. An issuer that differs from the metadata's URL is an
    /// RFC 8414 violation that 2025-03-26-era servers commit (the MCP server
    /// is its own authorization server, its metadata at its root naming an
    /// issuer under a path): tolerated, with a warning, when the issuer has
    /// the backend's own origin or `allow_issuer_mismatch` is set.
    async fn resolve(
        &self,
        m: &AuthorizationManager,
        challenge: Option<&str>,
    ) -> Result<AuthorizationMetadata, AuthError> {
        let e = match m.resolve_metadata_from_challenge(challenge).await {
            Ok(r) => return Ok(r.metadata),
            Err(e) => e,
        };
        let AuthError::AuthorizationServerMismatch {
            expected_issuer,
            received_issuer,
        } = &e
        else {
            return Err(e);
        };
        let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin());
        let same_origin =
            origin(received_issuer).is_some() && origin(received_issuer) == origin(&self.settings.endpoint);
        if !(same_origin || self.settings.allow_issuer_mismatch) {
            return Err(e);
        }
        let Some(expected) = url::Url::parse(expected_issuer).ok() else {
            return Err(e);
        };
        let path = expected.path().trim_end_matches('/');
        for well_known in ["oauth-authorization-server", "openid-configuration"] {
            let mut at = expected.clone();
            at.set_path(&format!("/.well-known/{well_known}{path}"));
            let fetched = async {
                let r = super::http_client()
                    .get(at.as_str())
                    .timeout(std::time::Duration::from_secs(30))
                    .send()
                    .await
                    .ok()?;
                if !r.status().is_success() {
                    return None;
                }
                serde_json::from_slice::<AuthorizationMetadata>(&r.bytes().await.ok()?).ok()
            };
            if let Some(metadata) = fetched.await {
                tracing::warn!(
                    backend = %self.settings.backend,
                    "the authorization server's metadata names issuer {received_issuer} instead of {expected_issuer}; accepted"
                );
                return Ok(metadata);
            }
        }
        Err(e)
    }

    /// A manager for the stored tokens, if there are any.
    async fn manager_from_store(&self) -> Result<Option<Active>, AuthError> {
        let record = self.store.read()?;
        let Some(creds) = record.credentials.as_ref().filter(|c| c.token_response.is_some()) else {
            return Ok(None);
        };
        let mut m = self.new_manager().await?;
        // The metadata found at the consent (perhaps only through a
        // challenge's pointer), else found again now.
        let metadata = match record.metadata.clone() {
            Some(m) => m,
            None => self.resolve(&m, None).await?,
        };
        m.set_metadata(metadata);
        let client_id = creds.client_id.clone();
        if !m.initialize_from_store().await? {
            return Ok(None);
        }
        if let Some(reg) = record.registration.filter(|r| r.client_id == creds.client_id) {
            let mut config = OAuthClientConfig::new(reg.client_id.clone(), reg.redirect_uri);
            // A configured secret wins over the stored one (it may have been rotated).
            let configured = match (&self.settings.client_id, &self.settings.client_secret) {
                (Some(_), Some(s)) => Some(s.get().await?),
                _ => None,
            };
            if let Some(s) = configured.or(reg.client_secret) {
                config = config.with_client_secret(s);
            }
            if reg.method != "client-credentials" {
                m.configure_client(config)?;
            }
        }
        Ok(Some(Active { m, client_id }))
    }

    /// The current access token (refreshed when due), `None` when there is
    /// none yet (the request then goes out without one, and the backend's
    /// challenge starts the authorization).
    pub async fn token(&self) -> Result<Option<String>, AuthError> {
        {
            let m = self.manager.read().await;
            if let Some(a) = m.as_ref() {
                return match a.m.get_access_token().await {
                    Ok(t) => Ok(Some(t)),
                    Err(AuthError::AuthorizationRequired) => Ok(None),
                    Err(e) => Err(e),
                };
            }
        }
        let mut m = self.manager.write().await;
        if m.is_none() {
            *m = self.manager_from_store().await?;
        }
        let token = match m.as_ref() {
            None => None,
            Some(a) => match a.m.get_access_token().await {
                Ok(t) => Some(t),
                Err(AuthError::AuthorizationRequired) => None,
                Err(e) => return Err(e),
            },
        };
        drop(m);
        match token {
            // Machine to machine: a new token needs no one, so get it now.
            None if self.settings.client_credentials => self.client_credentials(None).await.map(Some),
            t => Ok(t),
        }
    }

    /// Gets a token with the client credentials grant and keeps it.
    async fn client_credentials(&self, challenge: Option<&str>) -> Result<String, AuthError> {
        let (Some(id), Some(secret)) = (&self.settings.client_id, &self.settings.client_secret) else {
            return Err(AuthError::ClientCredentialsError(
                "grant client_credentials needs client_id (or client_id_command) and client_secret (or client_secret_command)"
                    .into(),
            ));
        };
        let mut m = self.new_manager().await?;
        let metadata = self.resolve(&m, challenge).await?;
        let issuer = metadata.issuer.clone();
        m.set_metadata(metadata);
        let client_id = id.get().await?;
        let config = ClientCredentialsConfig::ClientSecret {
            client_id: client_id.clone(),
            client_secret: secret.get().await?,
            scopes: self.settings.scopes.clone(),
            resource: Some(self.settings.endpoint.clone()),
        };
        m.configure_client_credentials(&config)?;
        {
            let _lock = self.store.lock().await?;
            m.exchange_client_credentials(&config).await?;
            self.store.update(|r| {
                r.registration = Some(Registration {
                    client_id: client_id.clone(),
                    client_secret: None,
                    redirect_uri: String::new(),
                    issuer,
                    method: "client-credentials".into(),
                })
            })?;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        let token = m.get_access_token().await?;
        *self.manager.write().await = Some(Active { m, client_id });
        self.awaiting.store(false, Ordering::Release);
        tracing::info!(backend = %self.settings.backend, "got a token with the client credentials grant");
        Ok(token)
    }

    /// The backend answered 401 to `sent`: a newer token (stored by another
    /// request or process, or refreshed now), else a consent.
    pub async fn unauthorized(
        self: &Arc<Self>,
        sent: Option<&str>,
        challenge: Option<&str>,
    ) -> Result<String, AuthError> {
        let seen = self.generation.load(Ordering::Acquire);
        // A login made out of band may have registered another client: start
        // again from the store.
        let stored_client = self.store.read()?.credentials.map(|c| c.client_id);
        {
            let mut m = self.manager.write().await;
            let current = m.as_ref().map(|a| a.client_id.clone());
            if stored_client.is_some() && current != stored_client {
                *m = self.manager_from_store().await.unwrap_or(None);
            }
        }
        if let Some(t) = self.token().await?
            && Some(t.as_str()) != sent
        {
            return Ok(t);
        }
        if sent.is_some() {
            let m = self.manager.read().await;
            if let Some(a) = m.as_ref() {
                match a.m.refresh_token().await {
                    Ok(r) => {
                        use oauth2::TokenResponse as _;
                        let t = r.access_token().secret().to_string();
                        if Some(t.as_str()) != sent {
                            tracing::info!(backend = %self.settings.backend, "refreshed the access token after a 401");
                            return Ok(t);
                        }
                    }
                    // A refusal of the client itself (a rotated secret, a
                    // deleted registration) needs a consent; anything else
                    // (the network, the server) is worth a retry later.
                    Err(AuthError::TokenRefreshFailed(e))
                        if !(e.contains("invalid_client") || e.contains("unauthorized_client")) =>
                    {
                        return Err(AuthError::TokenRefreshFailed(e));
                    }
                    Err(e) => {
                        tracing::info!(backend = %self.settings.backend, "the token cannot be refreshed ({e}); a new consent is needed");
                    }
                }
            }
        }
        // The tokens of the last consent were refused before any request
        // succeeded: another consent would only loop the user through the browser.
        if self.unanswered_consents.load(Ordering::Acquire) > 0 && self.generation.load(Ordering::Acquire) == seen {
            return Err(AuthError::AuthorizationFailed(
                "the backend refuses the tokens of the last consent; check the backend's and the authorization server's configuration, then run `mcpmux auth login`"
                    .into(),
            ));
        }
        self.consent_if_allowed(challenge, &[], seen).await
    }

    /// The backend answered 403: with `insufficient_scope`, a consent for
    /// the scopes it asks for besides those granted (at most a few in a
    /// row); otherwise `None` (the 403 stands).
    pub async fn forbidden(self: &Arc<Self>, challenge: Option<&str>) -> Result<Option<String>, AuthError> {
        let seen = self.generation.load(Ordering::Acquire);
        let Some(challenge) = challenge else {
            return Ok(None);
        };
        let lower = challenge.to_ascii_lowercase();
        if !lower.contains("insufficient_scope") {
            return Ok(None);
        }
        let Some(required) = challenge_param(challenge, "scope") else {
            return Ok(None);
        };
        if self.step_ups.fetch_add(1, Ordering::AcqRel) >= MAX_STEP_UPS {
            tracing::warn!(backend = %self.settings.backend, "the backend keeps asking for more scope ({required}); giving up");
            return Ok(None);
        }
        let mut scopes: Vec<String> = self
            .store
            .read()?
            .credentials
            .map(|c| c.granted_scopes)
            .unwrap_or_default();
        for s in required.split_whitespace() {
            if !scopes.iter().any(|g| g == s) {
                scopes.push(s.to_string());
            }
        }
        tracing::info!(backend = %self.settings.backend, "the backend asks for scope {required}: asking for a new consent");
        self.consent_if_allowed(Some(challenge), &scopes, seen).await.map(Some)
    }

    /// A request succeeded: nothing waits for a consent, and the last one was answered.
    pub fn succeeded(&self) {
        self.awaiting.store(false, Ordering::Release);
        self.unanswered_consents.store(0, Ordering::Release);
    }

    /// A request retried after a step-up consent succeeded: step-ups start counting again.
    pub fn stepped_up(&self) {
        self.step_ups.store(0, Ordering::Release);
    }

    /// Runs a consent (in a task of its own, so that a request given up on
    /// does not take the user's consent with it), if one may be asked for now.
    async fn consent_if_allowed(
        self: &Arc<Self>,
        challenge: Option<&str>,
        scopes: &[String],
        seen: u64,
    ) -> Result<String, AuthError> {
        if self.settings.client_credentials {
            return self.client_credentials(challenge).await;
        }
        if !self.interactive.load(Ordering::Acquire) {
            if !self.awaiting.swap(true, Ordering::AcqRel) {
                tracing::warn!(
                    backend = %self.settings.backend,
                    "authorization needed: run `mcpmux auth login {}` (a serving mcpmux also asks once a client connects; eager_auth: true asks at start-up)",
                    self.settings.backend
                );
            }
            return Err(AuthError::AuthorizationRequired);
        }
        let this = self.clone();
        let challenge = challenge.map(str::to_string);
        let scopes = scopes.to_vec();
        tokio::spawn(async move { this.consent_after(challenge.as_deref(), &scopes, Some(seen)).await })
            .await
            .map_err(|e| AuthError::InternalError(format!("the consent task failed: {e}")))?
    }

    /// Runs a consent now (`mcpmux auth login`).
    pub async fn consent(&self, challenge: Option<&str>, scopes: &[String]) -> Result<String, AuthError> {
        self.consent_after(challenge, scopes, None).await
    }

    /// Runs a consent now: discovery, registration, the user's approval in
    /// a browser, the code exchange. The tokens are stored and returned.
    /// With `seen`, a consent completed since then (while this one queued)
    /// stands for this one when it left tokens.
    async fn consent_after(
        &self,
        challenge: Option<&str>,
        scopes: &[String],
        seen: Option<u64>,
    ) -> Result<String, AuthError> {
        if self.settings.client_credentials {
            return self.client_credentials(challenge).await;
        }
        struct Consenting<'a>(&'a OAuth);
        impl Drop for Consenting<'_> {
            fn drop(&mut self) {
                self.0.consenting.fetch_sub(1, Ordering::AcqRel);
                self.0.consent_ended.notify_waiters();
            }
        }
        self.consenting.fetch_add(1, Ordering::AcqRel);
        let _consenting = Consenting(self);
        let _one_at_a_time = consent::SERIAL.lock().await;
        if seen.is_some_and(|g| g != self.generation.load(Ordering::Acquire))
            && let Some(t) = self.token().await?
        {
            return Ok(t);
        }
        let backend = self.settings.backend.as_str();
        let mut m = self.new_manager().await?;
        let metadata = self.resolve(&m, challenge).await?;
        let issuer = metadata.issuer.clone();
        let cimd_supported = metadata
            .additional_fields
            .get("client_id_metadata_document_supported")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let has_registration_endpoint = metadata.registration_endpoint.is_some();
        m.set_metadata(metadata.clone());
        let stored = self.store.read()?.registration;
        // With an ephemeral callback port, the port of a stored dynamic
        // registration is tried first: when it is free, the registration
        // still matches and is reused instead of registering again.
        let reusable_port = stored
            .as_ref()
            .filter(|r| r.method == "dynamic" && r.issuer == issuer && self.settings.callback_port == 0)
            .and_then(|r| url::Url::parse(&r.redirect_uri).ok())
            .and_then(|u| u.port());
        let callback = match reusable_port {
            Some(port) => match Callback::bind(port).await {
                Ok(c) => c,
                Err(_) => Callback::bind(0).await.map_err(AuthError::InternalError)?,
            },
            None => Callback::bind(self.settings.callback_port)
                .await
                .map_err(AuthError::InternalError)?,
        };
        let redirect = callback.redirect_uri.clone();

        let mut request =
            AuthorizationRequest::new(redirect.as_str()).with_client_name(self.settings.client_name.as_str());
        // The order MCP prefers: a configured client, a Client ID Metadata
        // Document, dynamic registration (a stored one while it still matches).
        let mut configured_secret = None;
        let registration: Registration = if let Some(id) = &self.settings.client_id {
            let client_id = id.get().await?;
            configured_secret = match &self.settings.client_secret {
                Some(s) => Some(s.get().await?),
                None => None,
            };
            Registration {
                client_id,
                // The configuration holds it; it is not copied to disk.
                client_secret: None,
                redirect_uri: redirect.clone(),
                issuer: issuer.clone(),
                method: "pre-registered".into(),
            }
        } else if let Some(url) = self.settings.client_metadata_url.as_ref().filter(|_| cimd_supported) {
            request = request.with_client_metadata_url(url.as_str());
            Registration {
                client_id: url.clone(),
                client_secret: None,
                redirect_uri: redirect.clone(),
                issuer: issuer.clone(),
                method: "metadata-document".into(),
            }
        } else if let Some(reg) =
            stored.filter(|r| r.method == "dynamic" && r.redirect_uri == redirect && r.issuer == issuer)
        {
            tracing::debug!(backend, "reusing the stored client registration");
            reg
        } else if has_registration_endpoint {
            let wanted = if scopes.is_empty() {
                m.select_initial_scopes(&[]).await
            } else {
                scopes.to_vec()
            };
            let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
            let c = m
                .register_client(&self.settings.client_name, &redirect, &wanted)
                .await?;
            tracing::info!(backend, "registered mcpmux with the authorization server");
            Registration {
                client_id: c.client_id,
                client_secret: c.client_secret,
                redirect_uri: redirect.clone(),
                issuer: issuer.clone(),
                method: "dynamic".into(),
            }
        } else {
            return Err(AuthError::RegistrationFailed(
                "the authorization server offers no dynamic client registration: configure client_id (and client_secret)"
                    .into(),
            ));
        };
        if registration.method != "metadata-document" {
            request = request.with_preregistered_client(registration.client_id.as_str());
            if let Some(s) = configured_secret.as_ref().or(registration.client_secret.as_ref()) {
                request = request.with_client_secret(s.as_str());
            }
        }
        request = if !scopes.is_empty() {
            request.with_scopes(scopes.iter().cloned())
        } else if !self.settings.scopes.is_empty() {
            request.with_scopes(self.settings.scopes.iter().cloned())
        } else {
            request.with_initial_scope_selection()
        };
        let session = AuthorizationSession::new(m, request).await.map_err(|(_, e)| e)?;
        let client_id = registration.client_id.clone();
        let state = url::Url::parse(session.get_authorization_url())
            .ok()
            .and_then(|u| u.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()));
        consent::show(backend, session.get_authorization_url(), self.settings.open_browser);
        let url = callback
            .wait(state.as_deref(), consent::CONSENT_TIMEOUT)
            .await
            .map_err(AuthError::AuthorizationFailed)?;
        {
            // The exchange saves the tokens, the registration and the
            // metadata go with them: under the store's lock, so no other
            // process refreshes meanwhile.
            let _lock = self.store.lock().await?;
            session.handle_callback_url(&url).await?;
            self.store.update(|r| {
                r.registration = Some(registration);
                r.metadata = Some(metadata);
            })?;
        }
        let token = session.auth_manager.get_access_token().await?;
        *self.manager.write().await = Some(Active {
            m: session.auth_manager,
            client_id,
        });
        self.awaiting.store(false, Ordering::Release);
        self.unanswered_consents.fetch_add(1, Ordering::AcqRel);
        self.generation.fetch_add(1, Ordering::AcqRel);
        tracing::info!(backend, "authorized");
        Ok(token)
    }
}

/// A parameter of a `WWW-Authenticate` challenge (`name="value"` or `name=value`).
fn challenge_param(challenge: &str, name: &str) -> Option<String> {
    let lower = challenge.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find(name) {
        let start = from + at;
        from = start + name.len();
        let before_ok = start == 0 || matches!(lower.as_bytes()[start - 1], b' ' | b',' | b'\t');
        let rest = challenge[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let rest = rest[1..].trim_start();
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            quoted.split('"').next().unwrap_or("")
        } else {
            rest.split([',', ' ']).next().unwrap_or("")
        };
        return Some(value.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::challenge_param;

    #[test]
    fn reads_challenge_parameters() {
        let c = r#"Bearer error="insufficient_scope", scope="mcp:basic mcp:write", resource_metadata="http://x/y""#;
        assert_eq!(challenge_param(c, "scope").as_deref(), Some("mcp:basic mcp:write"));
        assert_eq!(challenge_param(c, "error").as_deref(), Some("insufficient_scope"));
        assert_eq!(
            challenge_param("Bearer realm=x, scope=a", "scope").as_deref(),
            Some("a")
        );
        assert_eq!(challenge_param("Bearer noscope=1", "scope"), None);
    }
}
