// Running the real `titans` binary from a test, as a user would (needs TITANS_BINARY defined by
// tests/CMakeLists.txt): exit code, stdout, stderr; and the one-line error convention.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "io_test_util.h"

namespace titans::testing {

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A scratch folder and `titans ARGS` run with its output captured there.
class CliTest : public io::testing::ScratchDir {
 protected:
  CliRun titans(const std::string& args) {
    const std::string out = path("stdout.txt"), err = path("stderr.txt");
    const std::string cmd = "'" TITANS_BINARY "' " + args + " >'" + out + "' 2>'" + err + "'";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
  }
};

// Bad input: exit code 2 and one line on stderr, "titans: error: …" naming the problem.
inline void expect_one_line_error(const CliRun& r, const std::string& problem) {
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("titans: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(problem), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
}

}  // namespace titans::testing
