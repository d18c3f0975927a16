# mcpmux as a Nix package: `callPackage ./nix/package.nix { }`, or with a
# configuration baked in: `callPackage ./nix/package.nix { bakedConfig =
# ./mcpmux.yaml; }` (a path or a derivation that is a YAML file; secrets in
# it must be ${VAR} references, or the build fails). The build is
# reproducible: the same source and configuration give the same binary.
{
  lib,
  rustPlatform,
  bakedConfig ? null,
}:

let
  cargoToml = builtins.fromTOML (builtins.readFile ../Cargo.toml);
  # What the build needs, not the checkout's caches and build output.
  skipped = [
    ".git"
    ".cache"
    "target"
    "node_modules"
    "result"
  ];
  src = lib.cleanSourceWith {
    src = ../.;
    name = "mcpmux-source";
    filter = path: type: !(builtins.elem (baseNameOf path) skipped);
  };
in
rustPlatform.buildRustPackage {
  pname = "mcpmux";
  version = cargoToml.workspace.package.version;
  inherit src;
  cargoLock.lockFile = ../Cargo.lock;

  env = lib.optionalAttrs (bakedConfig != null) {
    MCPMUX_BAKED_CONFIG = "${bakedConfig}";
  };

  # The end-to-end tests need Node, Python and systemd's tools; the unit
  # tests need nothing.
  cargoTestFlags = [ "--lib" ];

  postInstall = ''
    install -Dm644 systemd/mcpmux.socket $out/share/systemd/user/mcpmux.socket
    substitute systemd/mcpmux.service $out/share/systemd/user/mcpmux.service \
      --replace-fail "ExecStart=/usr/bin/mcpmux serve" "ExecStart=$out/bin/mcpmux serve"
  '';

  meta = {
    description = "One MCP endpoint in front of many MCP servers: a declarative, codegen-driven multiplexer";
    homepage = "https://github.com/mcpmux/mcpmux";
    license = lib.licenses.asl20;
    mainProgram = "mcpmux";
    platforms = lib.platforms.linux;
  };
}
