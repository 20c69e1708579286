// Header rewriting for `policyc run --write-headers`.
#include "report/report.h"

#include <cmath>
#include <cstdio>

namespace mp::report {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// "policy.mp:37:3" -> "policy.mp:37" (only a trailing numeric column is dropped).
std::string without_column(const std::string& location) {
  size_t last = location.rfind(':');
  if (last == std::string::npos || last == 0 || last + 1 == location.size()) return location;
  size_t before = location.rfind(':', last - 1);
  if (before == std::string::npos) return location;
  for (size_t i = last + 1; i < location.size(); ++i) {
    if (location[i] < '0' || location[i] > '9') return location;
  }
  return location.substr(0, last);
}

std::string one_line(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

// The field name of a header line, or "" when the line is not a field
// ("Name: value"; obsolete "Name : value" is accepted).
std::string_view field_name(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return {};
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  for (char c : name) {
    if (c <= 32 || c >= 127) return {};
  }
  return name;
}

}  // namespace

std::string format_score(double score) {
  if (!std::isfinite(score)) return score > 0 ? "inf" : score < 0 ? "-inf" : "nan";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f", score);
  std::string s = buffer;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

HeaderList verdict_headers(const vm::Verdict& verdict) {
  HeaderList out;
  std::string action(vm::action_name(verdict.action));
  std::string rule = verdict.stage_name + "." + verdict.rule_name;
  out.emplace_back("X-Policy-Verdict", verdict.rule ? action + "; rule=" + rule : action);
  out.emplace_back("X-Policy-Score", format_score(verdict.score));
  if (verdict.rule) out.emplace_back("X-Policy-Rule", rule + " at " + without_column(verdict.location));
  for (const auto& header : verdict.added_headers) out.push_back(header);
  return out;
}

std::string rewrite_headers(std::string_view message, const HeaderList& prepend,
                            const std::vector<std::string>& remove) {
  if (message.starts_with("From ")) {
    size_t eol = message.find('\n');
    message = eol == std::string_view::npos ? std::string_view{} : message.substr(eol + 1);
  }
  size_t first_eol = message.find('\n');
  std::string_view eol =
      (first_eol != std::string_view::npos && first_eol > 0 && message[first_eol - 1] == '\r')
          ? std::string_view("\r\n")
          : std::string_view("\n");

  std::string out;
  out.reserve(message.size() + 256);
  for (const auto& [name, value] : prepend) {
    out += one_line(name);
    out += ": ";
    out += one_line(value);
    out += eol;
  }

  // The header block: fields and their continuation lines, up to the empty line (or
  // the first line that is neither, where the body starts, as for the parser).
  size_t pos = 0;
  bool dropping = false;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    size_t end = nl == std::string_view::npos ? message.size() : nl + 1;
    std::string_view line = message.substr(pos, end - pos);
    std::string_view content = line;
    if (content.ends_with('\n')) content.remove_suffix(1);
    if (content.ends_with('\r')) content.remove_suffix(1);
    if (content.empty()) break;  // the separator: the body follows
    if (content[0] == ' ' || content[0] == '\t') {
      if (!dropping) out += line;
      pos = end;
      continue;
    }
    std::string_view name = field_name(content);
    if (name.empty()) break;  // not a header line: the body starts here
    dropping = false;
    for (const auto& r : remove) {
      if (iequals(name, r)) {
        dropping = true;
        break;
      }
    }
    if (!dropping) out += line;
    pos = end;
  }
  out += message.substr(pos);
  return out;
}

}  // namespace mp::report
