// Header fields as the policy reads them: the message's header block (GMime splits it
// between the message and its body part) and every MIME entity's own fields, for
// mime_header("NAME") (SpamAssassin's mimeheader).
#include <algorithm>

#include "runtime/mime_walk.h"

namespace mp::runtime::detail {

namespace {

void append_headers(GMimeObject* object, std::vector<GMimeHeader*>& out) {
  GMimeHeaderList* list = g_mime_object_get_header_list(object);
  const int count = list != nullptr ? g_mime_header_list_get_count(list) : 0;
  for (int i = 0; i < count; ++i) out.push_back(g_mime_header_list_get_header_at(list, i));
}

// GMime keeps the field body as read. As SpamAssassin, a CRLF line break reads as LF
// (a lone CR stays); the final one is not part of the value a test reads (as with the
// decoded value).
std::string received_field_body(GMimeHeader* field) {
  const char* raw = g_mime_header_get_raw_value(field);
  std::string body;
  for (const char* c = raw != nullptr ? raw : ""; *c != '\0'; ++c) {
    if (c[0] != '\r' || c[1] != '\n') body += *c;
  }
  while (!body.empty() && body.back() == '\n') body.pop_back();
  return body;
}

// SpamAssassin's reading of a MIME entity's field: each line break with the white
// space after it is one space (RFC 5322 unfolding would keep that white space), white
// space at either end dropped, encoded words decoded.
HeaderField sa_unfolded_field(GMimeHeader* field, GMimeParserOptions* options) {
  const char* name = g_mime_header_get_name(field);
  const std::string raw = raw_header_value(field);
  std::string folded;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') continue;
    if (raw[i] != '\n') {
      folded += raw[i];
      continue;
    }
    while (i + 1 < raw.size() && (raw[i + 1] == ' ' || raw[i + 1] == '\t')) ++i;
    folded += ' ';
  }
  const size_t begin = folded.find_first_not_of(" \t"), end = folded.find_last_not_of(" \t");
  folded = begin == std::string::npos ? std::string() : folded.substr(begin, end - begin + 1);
  GCharPtr decoded(g_mime_utils_header_decode_text(options, folded.c_str()));
  return HeaderField{name != nullptr ? name : "", decoded ? decoded.get() : "", received_field_body(field)};
}

struct PartWalk {
  const WalkContext& context;
  std::vector<std::vector<HeaderField>>& out;

  mutable uint32_t parts = 0;  // counted as the body walk counts (WalkContext::admit_part)

  void entity(const std::vector<GMimeHeader*>& fields) const {
    std::vector<HeaderField>& decoded = out.emplace_back();
    for (GMimeHeader* field : fields) {
      decoded.push_back(sa_unfolded_field(field, context.options));
      cut_field(decoded.back(), context);
    }
  }
  // A message's entity is its header block with its body part's fields: the body
  // walk's entity for that part. Then what the body part holds.
  void message(GMimeMessage* message, int depth) const {
    if (!context.admit_part(parts)) return;
    entity(header_block(message, context));
    children(g_mime_message_get_mime_part(message), depth);
  }
  void children(GMimeObject* object, int depth) const {
    if (object == nullptr || depth > context.max_depth) return;  // the body walk records the defect
    if (GMIME_IS_MULTIPART(object)) {
      GMimeMultipart* multipart = GMIME_MULTIPART(object);
      for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i)
        part(g_mime_multipart_get_part(multipart, i), depth + 1);
    } else if (GMIME_IS_MESSAGE_PART(object)) {
      if (GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object)))
        message(inner, depth + 1);
    }
  }
  void part(GMimeObject* object, int depth) const {
    if (object == nullptr || depth > context.max_depth || !context.admit_part(parts)) return;
    std::vector<GMimeHeader*> fields;
    append_headers(object, fields);
    entity(fields);
    children(object, depth);
  }
};

}  // namespace

std::vector<GMimeHeader*> header_block(GMimeMessage* message, const WalkContext& context) {
  std::vector<GMimeHeader*> fields;
  append_headers(GMIME_OBJECT(message), fields);
  if (GMimeObject* body = g_mime_message_get_mime_part(message)) append_headers(body, fields);
  std::stable_sort(fields.begin(), fields.end(), [](GMimeHeader* a, GMimeHeader* b) {
    return g_mime_header_get_offset(a) < g_mime_header_get_offset(b);
  });
  if (fields.size() > context.max_fields) {
    context.defects.add(DefectKind::HeaderFieldsExceeded,
                        std::to_string(fields.size()) + " header fields; those after the first " +
                            std::to_string(context.max_fields) + " not examined");
    fields.resize(context.max_fields);
  }
  return fields;
}

HeaderField decode_field(GMimeHeader* field, GMimeParserOptions* options) {
  const char* name = g_mime_header_get_name(field);
  return HeaderField{name != nullptr ? name : "", decode_header_value(field, options),
                     received_field_body(field)};
}

std::vector<std::vector<HeaderField>> part_headers(GMimeMessage* message, const WalkContext& context) {
  std::vector<std::vector<HeaderField>> out;
  if (message != nullptr) PartWalk{context, out}.message(message, 0);
  return out;
}

}  // namespace mp::runtime::detail
