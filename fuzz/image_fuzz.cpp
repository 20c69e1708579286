// libFuzzer target: the image loader and verifier. Half of the inputs get a valid
// checksum patched in first, so mutations reach the section decoders and the
// bytecode verifier instead of stopping at the checksum.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/message.h"
#include "vm/vm.h"

namespace {

constexpr size_t kDigestOffset = 16;  // magic (8) + version (4) + section count (4)
constexpr size_t kBodyOffset = kDigestOffset + 32;

void patch_checksum(std::vector<uint8_t>& bytes) {
  if (bytes.size() < kBodyOffset) return;
  unsigned int length = 0;
  EVP_Digest(bytes.data() + kBodyOffset, bytes.size() - kBodyOffset, bytes.data() + kDigestOffset, &length,
             EVP_sha256(), nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::vector<uint8_t> bytes(data + 1, data + size);
  if (data[0] & 1) patch_checksum(bytes);
  try {
    mp::vm::ProgramPtr program = mp::vm::Program::load(bytes);
    static const mp::runtime::Message message = mp::runtime::Message::parse(
        "From: a@example.com\r\nTo: b@example.org\r\nSubject: hello\r\n\r\nbody http://x.example/\r\n");
    mp::vm::Evaluator evaluator(program);
    evaluator.evaluate(message, mp::runtime::Envelope{});
    mp::vm::disassemble(program->image());
  } catch (const mp::vm::ImageError&) {
  }
  return 0;
}
