// Bounds-checked little-endian byte writer/reader used by the image format. Every
// read checks the remaining length first, and every count is checked against the
// bytes left, so a corrupt image throws ImageError instead of over-reading or
// allocating without limit.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "vm/image.h"

namespace mp::vm {

class ByteWriter {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(uint16_t v) { raw(&v, sizeof v); }
  void u32(uint32_t v) { raw(&v, sizeof v); }
  void u64(uint64_t v) { raw(&v, sizeof v); }
  void f64(double v) { raw(&v, sizeof v); }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void raw(const void* data, size_t size) { out_.append(static_cast<const char*>(data), size); }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> bytes, std::string_view what)
      : bytes_(bytes), what_(what) {}

  uint8_t u8() { return take<uint8_t>(); }
  uint16_t u16() { return take<uint16_t>(); }
  uint32_t u32() { return take<uint32_t>(); }
  uint64_t u64() { return take<uint64_t>(); }
  double f64() { return take<double>(); }
  std::string str() {
    uint32_t size = u32();
    need(size);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), size);
    pos_ += size;
    return s;
  }
  // A count of elements each at least `min_element_size` bytes long.
  uint32_t count(size_t min_element_size) {
    uint32_t n = u32();
    if (min_element_size > 0 && n > remaining() / min_element_size) fail("count too large");
    return n;
  }
  size_t remaining() const { return bytes_.size() - pos_; }
  bool done() const { return pos_ == bytes_.size(); }
  [[noreturn]] void fail(std::string_view why) const {
    throw ImageError(std::string(what_) + ": " + std::string(why));
  }

 private:
  void need(size_t n) const {
    if (n > remaining()) fail("truncated");
  }
  template <typename T>
  T take() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::span<const uint8_t> bytes_;
  std::string_view what_;
  size_t pos_ = 0;
};

}  // namespace mp::vm
