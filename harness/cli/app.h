#pragma once
// The whole `posbench` command: parses argv (CLI11) and runs the subcommand. Returns the exit
// code: 0 ok, 2 a mistake the user can fix, 1 anything else. It lives in the cli layer (not in
// main.cpp) so that it compiles in the layer's unity batch, which parses CLI11, nlohmann/json
// and fmt once for every file of the layer.
namespace posbench {

int cli_main(int argc, char** argv);

}  // namespace posbench
