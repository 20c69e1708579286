// What libmailpolicy.so exports (nm -D): the C API of mailpolicy.h and the C++ API of
// the mp::vm, mp::runtime, mp::dns, mp::auth, mp::av and mp::state namespaces, nothing else (no
// mp::compiler, mp::lang, mp::report, fmt, antlr4, nlohmann or std: they stay free to
// change and cannot clash with an embedder's own copies); every function mailpolicy.h
// declares and every declaration marked MP_API is there.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/api/api_test_util.h"

namespace mp::api_test {
namespace {

struct Symbol {
  char type = '?';
  std::string name;       // as linked: mangled for C++
  std::string demangled;  // nm -C
};

// The names `nm -D --defined-only [-C]` prints, without their version.
std::vector<std::pair<char, std::string>> nm(const std::string& flags) {
  e2e::RunResult r = e2e::run_shell("nm -D --defined-only " + flags + " " + e2e::shell_quote(MP_LIBRARY));
  EXPECT_EQ(r.status, 0) << e2e::describe(r, 2000);
  std::vector<std::pair<char, std::string>> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    // "0000000000069b40 T name@@MAILPOLICY_1"
    if (line.size() < 20 || line[16] != ' ' || line[18] != ' ') continue;
    std::string name = line.substr(19);
    name.erase(std::min(name.find("@@"), name.size()));
    out.emplace_back(line[17], name);
  }
  return out;
}

const std::vector<Symbol>& exported() {
  static const std::vector<Symbol> symbols = [] {
    auto raw = nm(""), demangled = nm("-C");
    EXPECT_EQ(raw.size(), demangled.size());
    std::vector<Symbol> out;
    for (size_t i = 0; i < raw.size() && i < demangled.size(); ++i) {
      out.push_back({raw[i].first, raw[i].second, demangled[i].second});
    }
    return out;
  }();
  return symbols;
}

TEST(Symbols, OnlyTheCAndCxxApiAreExported) {
  ASSERT_GT(exported().size(), 100u);
  const std::regex cxx_api("^((typeinfo|typeinfo name|vtable) for )?mp::(vm|runtime|dns|auth|av|state)::.*");
  for (const Symbol& s : exported()) {
    if (s.type == 'A' && s.name == "MAILPOLICY_1") continue;  // the version node of mailpolicy.map
    bool c_api = s.name.starts_with("mp_") && s.name == s.demangled;
    EXPECT_TRUE(c_api || std::regex_match(s.demangled, cxx_api)) << s.type << " " << s.demangled;
  }
}

// The first capture of every match of `pattern` in `text`: the declared names.
std::set<std::string> declared(const std::string& text, const std::regex& pattern) {
  std::set<std::string> names;
  for (std::sregex_iterator it(text.begin(), text.end(), pattern), end; it != end; ++it)
    names.insert((*it)[1]);
  return names;
}

TEST(Symbols, EveryFunctionOfMailpolicyHIsExported) {
  const std::string header = e2e::read_text(fs::path(MP_SOURCE_DIR) / "api" / "mailpolicy.h");
  // "MP_EXPORT mp_program *mp_program_load(...": the first mp_ name before a "(".
  std::set<std::string> functions =
      declared(header, std::regex(R"((?:^|\n)MP_EXPORT [^;(]*?\b(mp_\w+)\s*\()"));
  size_t declarations = 0;
  for (size_t at = 0; (at = header.find("\nMP_EXPORT ", at)) != std::string::npos; ++at) ++declarations;
  EXPECT_EQ(functions.size(), declarations) << "one function per MP_EXPORT line";
  EXPECT_GE(functions.size(), 45u);
  std::set<std::string> c_functions;
  for (const Symbol& s : exported()) {
    if (s.name.starts_with("mp_") && s.type == 'T') c_functions.insert(s.name);
  }
  EXPECT_EQ(c_functions, functions) << "exported C functions and the functions mailpolicy.h declares";
}

// A name the library exports under `qualified` ("mp::vm::Program"): a function of
// that name, a member of that class, or the class's typeinfo.
bool exports(const std::string& qualified) {
  for (const Symbol& s : exported()) {
    size_t at = s.demangled.find(qualified);
    if (at == std::string::npos) continue;
    char next = at + qualified.size() < s.demangled.size() ? s.demangled[at + qualified.size()] : '\0';
    if (next == '(' || next == ':' || next == '[' || next == '\0') return true;
  }
  return false;
}

TEST(Symbols, EveryDeclarationMarkedMpApiIsExported) {
  const std::regex classes(R"((?:^|\n)\s*(?:class|struct) MP_API (\w+))");
  const std::regex functions(R"((?:^|\n)MP_API [^;(]*?\b(\w+)\s*\()");
  size_t checked = 0;
  for (const char* dir : {"vm", "runtime", "dns", "auth"}) {
    for (const auto& entry : fs::directory_iterator(fs::path(MP_SOURCE_DIR) / dir)) {
      if (entry.path().extension() != ".h") continue;
      const std::string text = e2e::read_text(entry.path());
      std::set<std::string> names = declared(text, classes);
      names.merge(declared(text, functions));
      for (const std::string& name : names) {
        ++checked;
        EXPECT_TRUE(exports(std::string("mp::") + dir + "::" + name))
            << "mp::" << dir << "::" << name << " (" << entry.path().filename().string()
            << ") is marked MP_API";
      }
    }
  }
  EXPECT_GE(checked, 20u);
}

}  // namespace
}  // namespace mp::api_test
