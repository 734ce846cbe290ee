// build_info::git_describe(): the git description of the source tree, captured when the binary
// was built. The only file that includes the generated git_describe.h, which a build step
// rewrites whenever the description changes (cmake/git_describe.cmake). It is compiled on its
// own, outside the run layer's unity batch, so that only this file's compile waits for that
// step (CMakeLists.txt).
#include "git_describe.h"
#include "build_info.h"

namespace posbench::build_info {

const char* git_describe() { return kGitDescribe; }

}  // namespace posbench::build_info
