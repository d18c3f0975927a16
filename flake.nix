# mcpmux as a flake: packages.<system>.{default,mcpmux}, an overlay that adds
# pkgs.mcpmux, and homeModules.default (services.mcpmux for home-manager).
{
  description = "mcpmux: one MCP endpoint in front of many MCP servers";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAll (pkgs: rec {
        mcpmux = pkgs.callPackage ./nix/package.nix { };
        default = mcpmux;
      });
      overlays.default = final: prev: { mcpmux = final.callPackage ./nix/package.nix { }; };
      homeModules.default = {
        imports = [ ./nix/hm-module.nix ];
        nixpkgs.overlays = [ self.overlays.default ];
      };
    };
}
