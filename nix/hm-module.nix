# home-manager module: `services.mcpmux`. The settings become the YAML
# configuration, checked by `mcpmux validate --no-env` when the generation is
# built; they are either baked into the binary (`bake = true`: a rebuild per
# change, the daemon's behaviour fixed by a hash) or written to
# ~/.config/mcpmux/config.yaml and read at run time (reloaded on change).
# The systemd user service and socket match the units the project ships.
# Secrets stay out of the Nix store: write them as ${VAR} references and put
# VAR=value lines in `environmentFile`.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.services.mcpmux;
  yaml = pkgs.formats.yaml { };
  written = yaml.generate "mcpmux.yaml" cfg.settings;
  checked =
    pkgs.runCommand "mcpmux-config.yaml"
      {
        nativeBuildInputs = [ cfg.package ];
      }
      ''
        mcpmux validate --no-env -c ${written}
        cp ${written} $out
      '';
  package = if cfg.bake then cfg.package.override { bakedConfig = checked; } else cfg.package;
  unixSocket = lib.hasPrefix "/" cfg.socket.listen || lib.hasPrefix "%t" cfg.socket.listen;
in
{
  options.services.mcpmux = {
    enable = lib.mkEnableOption "mcpmux, one MCP endpoint in front of many MCP servers";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.mcpmux or (pkgs.callPackage ./package.nix { });
      defaultText = lib.literalExpression "pkgs.mcpmux";
      description = "The mcpmux package (its bakedConfig is set here when bake is true).";
    };

    settings = lib.mkOption {
      type = yaml.type;
      default = { };
      description = ''
        The configuration, as in mcpmux.yaml (schema/mcpmux.schema.json).
        Write secrets as ''${VAR} references and set them in environmentFile.
      '';
    };

    bake = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Bake the settings into the binary instead of reading them at run time.";
    };

    environmentFile = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "%h/.config/mcpmux/env";
      description = "A file of VAR=value lines for the \${VAR} references (kept out of the store).";
    };

    socket = {
      enable = lib.mkOption {
        type = lib.types.bool;
        default = true;
        description = "Start mcpmux on the first connection (socket activation).";
      };
      listen = lib.mkOption {
        type = lib.types.str;
        default = "127.0.0.1:8080";
        example = "%t/mcpmux.sock";
        description = "ListenStream of the socket: host:port, or a unix socket path.";
      };
    };
  };

  config = lib.mkIf cfg.enable {
    home.packages = [ package ];

    xdg.configFile."mcpmux/config.yaml" = lib.mkIf (!cfg.bake) { source = checked; };

    systemd.user.services.mcpmux = {
      Unit = {
        Description = "mcpmux: one MCP endpoint in front of many MCP servers";
        Requires = lib.optional cfg.socket.enable "mcpmux.socket";
        After = lib.optional cfg.socket.enable "mcpmux.socket";
        X-Restart-Triggers = [ "${checked}" ];
      };
      Service = {
        Type = "notify";
        ExecStart = "${lib.getExe package} serve";
        ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
        Restart = "on-failure";
        RestartSec = "2s";
        TimeoutStartSec = "3min";
        TimeoutStopSec = "45s";
        KillMode = "mixed";
        NoNewPrivileges = true;
        Environment = [ "MCPMUX_LOG=info,rmcp=warn" ];
        EnvironmentFile = lib.optional (cfg.environmentFile != null) "-${cfg.environmentFile}";
      };
      Install.WantedBy = lib.optional (!cfg.socket.enable) "default.target";
    };

    systemd.user.sockets.mcpmux = lib.mkIf cfg.socket.enable {
      Unit.Description = "mcpmux endpoint (MCP over streamable HTTP)";
      Socket = {
        ListenStream = cfg.socket.listen;
      }
      // lib.optionalAttrs unixSocket { SocketMode = "0600"; };
      Install.WantedBy = [ "sockets.target" ];
    };
  };
}
