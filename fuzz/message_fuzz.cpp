// libFuzzer target: the message model and the VM over arbitrary message bytes, with
// the widget example policy (every field class is tested by some rule).
#include <cstddef>
#include <cstdint>
#include <string>

#include "compiler/compiler.h"
#include "runtime/message.h"
#include "vm/vm.h"

namespace {

mp::vm::ProgramPtr load_policy() {
  mp::compiler::Compilation c = mp::compiler::compile_file(MP_SOURCE_DIR "/examples/widget/policy.mp");
  if (!c.ok()) __builtin_trap();
  std::string image = mp::vm::write_image(*c.image);
  return mp::vm::Program::load({reinterpret_cast<const uint8_t*>(image.data()), image.size()});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mp::vm::Evaluator evaluator(load_policy());
  mp::runtime::Message message =
      mp::runtime::Message::parse(std::string(reinterpret_cast<const char*>(data), size));
  mp::runtime::Envelope envelope;
  envelope.sender = "info@widget.com";
  envelope.recipients = {"jim@widget.com", "x@example.org"};
  envelope.client_ip = mp::runtime::IpAddress::parse("203.0.113.10");
  evaluator.evaluate(message, envelope);
  // Touch the fields no rule of the policy reads.
  message.html();
  message.raw_body();
  message.cc();
  message.reply_to();
  return 0;
}
