// Line diff by longest common subsequence, printed as unified-diff hunks. Quadratic,
// which is fine for policy files (a few thousand lines at most).
#include "tools/line_diff.h"

#include <fmt/format.h>

#include <sstream>
#include <vector>

namespace mp::tools {

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

enum class Edit { Keep, Remove, Add };

struct Step {
  Edit edit;
  size_t before, after;  // line indices (0-based) in each text
};

std::vector<Step> edit_script(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::vector<uint32_t>> lcs(a.size() + 1, std::vector<uint32_t>(b.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;) {
    for (size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<Step> steps;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) steps.push_back({Edit::Keep, i++, j++});
    else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) steps.push_back({Edit::Remove, i++, j});
    else steps.push_back({Edit::Add, i, j++});
  }
  return steps;
}

}  // namespace

std::string unified_diff(const std::string& before, const std::string& after, const std::string& before_name,
                         const std::string& after_name, size_t context) {
  auto a = lines_of(before), b = lines_of(after);
  std::vector<Step> steps = edit_script(a, b);
  std::string out = fmt::format("--- {}\n+++ {}\n", before_name, after_name);
  size_t k = 0;
  while (k < steps.size()) {
    if (steps[k].edit == Edit::Keep) {
      ++k;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the
    // last change that is within 2*context kept lines of the previous one.
    size_t start = k >= context ? k - context : 0;
    size_t end = k;
    for (size_t kept = 0; end < steps.size() && kept <= 2 * context; ++end) {
      kept = steps[end].edit == Edit::Keep ? kept + 1 : 0;
    }
    while (end > k && steps[end - 1].edit == Edit::Keep && end - 1 >= k + 1) {
      size_t trailing = 0;
      for (size_t t = end; t-- > k && steps[t].edit == Edit::Keep;) ++trailing;
      if (trailing <= context) break;
      --end;
    }
    size_t a_count = 0, b_count = 0;
    std::string body;
    for (size_t s = start; s < end; ++s) {
      const Step& step = steps[s];
      if (step.edit != Edit::Add) ++a_count;
      if (step.edit != Edit::Remove) ++b_count;
      char mark = step.edit == Edit::Keep ? ' ' : step.edit == Edit::Remove ? '-' : '+';
      body += mark + (step.edit == Edit::Add ? b[step.after] : a[step.before]) + "\n";
    }
    out += fmt::format("@@ -{},{} +{},{} @@\n", steps[start].before + 1, a_count, steps[start].after + 1, b_count);
    out += body;
    k = end;
  }
  return out;
}

}  // namespace mp::tools
