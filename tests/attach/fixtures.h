// Test fixtures made in the test: archives written with libarchive's write API,
// OLE2 files with libgsf, minimal executables libmagic recognises, and messages
// carrying them.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <gsf/gsf-outfile-msole.h>
#include <gsf/gsf-outfile.h>
#include <gsf/gsf-output-memory.h>
#include <gsf/gsf-utils.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace mp::attach::testing {

struct Entry {
  std::string name;
  std::string data;
};

enum class Format { Zip, SevenZip, Tar, TarGz, Gzip };

inline la_ssize_t append_to_string(archive*, void* out, const void* data, size_t size) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

// An archive of `entries`; `options` as archive_write_set_options takes them
// ("zip:encryption=zipcrypt"), `passphrase` for an encrypted zip. Gzip writes one
// entry as a bare .gz stream.
inline std::string make_archive(Format format, const std::vector<Entry>& entries,
                                const char* options = nullptr, const char* passphrase = nullptr) {
  archive* a = archive_write_new();
  switch (format) {
    case Format::Zip: archive_write_set_format_zip(a); break;
    case Format::SevenZip: archive_write_set_format_7zip(a); break;
    case Format::Tar: archive_write_set_format_pax_restricted(a); break;
    case Format::TarGz:
      archive_write_set_format_pax_restricted(a);
      archive_write_add_filter_gzip(a);
      break;
    case Format::Gzip:
      archive_write_set_format_raw(a);
      archive_write_add_filter_gzip(a);
      break;
  }
  if (options != nullptr && archive_write_set_options(a, options) != ARCHIVE_OK) {
    throw std::runtime_error(std::string("archive options: ") + archive_error_string(a));
  }
  if (passphrase != nullptr) archive_write_set_passphrase(a, passphrase);
  archive_write_set_bytes_in_last_block(a, 1);  // no padding to a 10 KB block
  std::string out;
  archive_write_open(a, &out, nullptr, append_to_string, nullptr);
  for (const Entry& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0644);
    archive_entry_set_size(entry, static_cast<la_int64_t>(e.data.size()));
    if (archive_write_header(a, entry) != ARCHIVE_OK) {
      throw std::runtime_error(std::string("archive header: ") + archive_error_string(a));
    }
    archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

inline std::string zip(const std::vector<Entry>& entries) {
  return make_archive(Format::Zip, entries);
}

// A PE32 header as a linker writes it: "MZ", e_lfanew at 0x3c, "PE\0\0", an i386
// COFF header and the optional header's magic. libmagic: application/x-dosexec.
inline std::string pe_executable() {
  std::string pe(1024, '\0');
  pe[0] = 'M';
  pe[1] = 'Z';
  pe[0x3c] = static_cast<char>(0x80);
  std::memcpy(&pe[0x80], "PE\0\0", 4);
  pe[0x84] = static_cast<char>(0x4c);  // machine i386
  pe[0x85] = static_cast<char>(0x01);
  pe[0x86] = 1;                        // one section
  pe[0x94] = static_cast<char>(0xe0);  // size of optional header
  pe[0x96] = 0x02;                     // characteristics: executable image
  pe[0x98] = 0x0b;                     // optional header magic 0x10b: PE32
  pe[0x99] = 0x01;
  pe[0xdc] = 2;  // subsystem: Windows GUI
  return pe;
}

// An ELF64 executable header for x86-64. libmagic: application/x-executable.
inline std::string elf_executable() {
  std::string elf(256, '\0');
  std::memcpy(elf.data(),
              "\x7f"
              "ELF\x02\x01\x01",
              7);
  elf[16] = 2;     // ET_EXEC
  elf[18] = 0x3e;  // x86-64
  elf[20] = 1;     // version
  return elf;
}

inline std::string pdf_document() {
  return "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
         "2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
         "trailer << /Root 1 0 R >>\n%%EOF\n";
}

// An OLE2 compound file with a WordDocument stream and, with `vba`, Word's VBA
// project storage Macros/VBA (streams dir and _VBA_PROJECT).
inline std::string ole_document(bool vba) {
  gsf_init();
  GsfOutput* sink = gsf_output_memory_new();
  GsfOutfile* ole = gsf_outfile_msole_new(sink);
  auto stream = [](GsfOutfile* parent, const char* name, const std::string& data) {
    GsfOutput* child = gsf_outfile_new_child(parent, name, FALSE);
    gsf_output_write(child, data.size(), reinterpret_cast<const guint8*>(data.data()));
    gsf_output_close(child);
    g_object_unref(child);
  };
  stream(ole, "WordDocument", std::string(4096, 'w'));
  if (vba) {
    GsfOutfile* macros = GSF_OUTFILE(gsf_outfile_new_child(ole, "Macros", TRUE));
    GsfOutfile* project = GSF_OUTFILE(gsf_outfile_new_child(macros, "VBA", TRUE));
    stream(project, "dir", std::string(600, 'd'));
    stream(project, "_VBA_PROJECT", std::string(600, 'v'));
    gsf_output_close(GSF_OUTPUT(project));
    gsf_output_close(GSF_OUTPUT(macros));
    g_object_unref(project);
    g_object_unref(macros);
  }
  gsf_output_close(GSF_OUTPUT(ole));
  g_object_unref(ole);
  const guint8* bytes = gsf_output_memory_get_bytes(GSF_OUTPUT_MEMORY(sink));
  std::string out(reinterpret_cast<const char*>(bytes), static_cast<size_t>(gsf_output_size(sink)));
  g_object_unref(sink);
  return out;
}

// A Word document as Office writes one: [Content_Types].xml first, then the parts;
// with `macros`, word/vbaProject.bin (a .docm).
inline std::string ooxml_document(bool macros) {
  std::vector<Entry> parts = {
      {"[Content_Types].xml",
       "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Types "
       "xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Override "
       "PartName=\"/word/document.xml\" "
       "ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></"
       "Types>"},
      {"_rels/.rels", "<?xml version=\"1.0\"?><Relationships/>"},
      {"word/document.xml", "<?xml version=\"1.0\"?><w:document><w:body>Hello</w:body></w:document>"}};
  if (macros) parts.push_back({"word/vbaProject.bin", ole_document(true)});
  return zip(parts);
}

// A message from outside with a text part and one base64 attachment per file.
// A zip holding a zip … `levels` deep, a text file innermost.
inline std::string nested_zips(int levels) {
  std::string bytes = "innermost\n", name = "core.txt";
  for (int i = 0; i < levels; ++i) {
    bytes = zip({{name, bytes}});
    name = "level" + std::to_string(i) + ".zip";
  }
  return bytes;
}

inline std::string message_with(const std::vector<Entry>& files) {
  std::string m =
      "From: Supplier <billing@supplier.example>\r\nTo: ap@widget.com\r\nSubject: documents\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
      "--B\r\nContent-Type: text/plain\r\n\r\nPlease find the documents attached.\r\n";
  for (const Entry& f : files) {
    gchar* encoded = g_base64_encode(reinterpret_cast<const guchar*>(f.data.data()), f.data.size());
    m += "--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
         "Content-Disposition: attachment; filename=\"" +
         f.name + "\"\r\n\r\n" + encoded + "\r\n";
    g_free(encoded);
  }
  return m + "--B--\r\n";
}

}  // namespace mp::attach::testing
