# Offline checks of nix/package.nix and nix/hm-module.nix, for machines
# without nixpkgs: each file is called with a STUB of the few nixpkgs `lib`
# and `pkgs` functions it uses (below; not nixpkgs, not home-manager's module
# system), and the attributes it produces are checked. This catches wrong
# attribute names and unit fields; it is not a build. Run by scripts/nix-check:
#   nix-instantiate --eval --strict nix/tests/eval.nix
let
  # ---- stub of nixpkgs lib (only what the two files call) ----
  lib = rec {
    optional = cond: x: if cond then [ x ] else [ ];
    optionalAttrs = cond: set: if cond then set else { };
    hasPrefix = p: s: builtins.substring 0 (builtins.stringLength p) s == p;
    mkIf = condition: content: {
      _type = "if";
      inherit condition content;
    };
    mkOption = o: o // { _type = "option"; };
    mkEnableOption = what: mkOption {
      type = types.bool;
      default = false;
      description = "Whether to enable ${what}.";
    };
    literalExpression = text: { _type = "literalExpression"; inherit text; };
    getExe = pkg: "${pkg.outPath}/bin/${pkg.meta.mainProgram}";
    types = {
      bool = "bool";
      str = "str";
      package = "package";
      nullOr = t: "nullOr ${t}";
    };
    cleanSourceWith = { src, name, filter }: assert filter (toString src + "/target") "directory" == false; src;
    licenses.asl20 = "asl20";
    platforms.linux = [ "x86_64-linux" ];
  };
  # ---- stub of pkgs ----
  package = bakedConfig: {
    outPath = "/nix/store/00000000000000000000000000000000-mcpmux";
    meta.mainProgram = "mcpmux";
    inherit bakedConfig;
    override = args: package args.bakedConfig;
  };
  pkgs = {
    formats.yaml = { }: {
      type = "yaml";
      generate = name: value: builtins.toFile name (builtins.toJSON value);
    };
    runCommand = name: env: script: "/nix/store/11111111111111111111111111111111-${name}";
    coreutils = "/nix/store/22222222222222222222222222222222-coreutils";
    callPackage = f: args: package null;
  };
  rustPlatform.buildRustPackage = attrs: attrs;

  # ---- nix/package.nix ----
  cargoVersion = (builtins.fromTOML (builtins.readFile ../../Cargo.toml)).workspace.package.version;
  plainPkg = import ../package.nix { inherit lib rustPlatform; };
  bakedPkg = import ../package.nix {
    inherit lib rustPlatform;
    bakedConfig = ./eval.nix;
  };

  # ---- nix/hm-module.nix ----
  module = import ../hm-module.nix;
  evaluate = settings: module {
    inherit lib pkgs;
    config.services.mcpmux = {
      enable = true;
      package = package null;
      bake = false;
      environmentFile = null;
      socket = {
        enable = true;
        listen = "127.0.0.1:8080";
      };
      settings = { };
    } // settings;
  };
  runtime = (evaluate { }).config;
  baked = (evaluate {
    bake = true;
    socket = {
      enable = true;
      listen = "%t/mcpmux.sock";
    };
    environmentFile = "%h/.config/mcpmux/env";
  }).config;
  unsocketed = (evaluate {
    socket = {
      enable = false;
      listen = "127.0.0.1:8080";
    };
  }).config;
  service = c: c.content.systemd.user.services.mcpmux;
in
assert plainPkg.pname == "mcpmux" && plainPkg.version == cargoVersion;
assert plainPkg.env == { };
assert builtins.match ".*eval.nix" bakedPkg.env.MCPMUX_BAKED_CONFIG != null;
assert plainPkg.meta.mainProgram == "mcpmux" && plainPkg.cargoLock.lockFile == ../../Cargo.lock;
assert runtime.condition;
assert (service runtime).Service.Type == "notify";
assert (service runtime).Service.ExecStart == "/nix/store/00000000000000000000000000000000-mcpmux/bin/mcpmux serve";
assert (service runtime).Service.KillMode == "mixed";
assert (service runtime).Unit.Requires == [ "mcpmux.socket" ];
assert (service runtime).Install.WantedBy == [ ];
assert runtime.content.systemd.user.sockets.mcpmux.condition;
assert runtime.content.systemd.user.sockets.mcpmux.content.Socket == { ListenStream = "127.0.0.1:8080"; };
assert runtime.content.xdg.configFile."mcpmux/config.yaml".condition;
assert !baked.content.xdg.configFile."mcpmux/config.yaml".condition;
assert baked.content.systemd.user.sockets.mcpmux.content.Socket.SocketMode == "0600";
assert (service baked).Service.EnvironmentFile == [ "-%h/.config/mcpmux/env" ];
assert builtins.head baked.content.home.packages != null
  && (builtins.head baked.content.home.packages).bakedConfig == "/nix/store/11111111111111111111111111111111-mcpmux-config.yaml";
assert (service unsocketed).Install.WantedBy == [ "default.target" ];
assert !unsocketed.content.systemd.user.sockets.mcpmux.condition;
"ok: package.nix and hm-module.nix evaluated against stubs"
