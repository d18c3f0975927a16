# For users without flakes: `nix-build` (or `nix-env -f . -i`) builds mcpmux
# with the nixpkgs on NIX_PATH; `nix-build --arg bakedConfig ./my.yaml`
# bakes a configuration in.
{
  pkgs ? import <nixpkgs> { },
  bakedConfig ? null,
}:
pkgs.callPackage ./nix/package.nix { inherit bakedConfig; }
