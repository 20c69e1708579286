// libFuzzer target: policy text → parser → sema → pattern databases → image. Any
// input must end in diagnostics or an image, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "compiler/compiler.h"
#include "vm/vm.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  mp::compiler::Compilation c = mp::compiler::compile_source("fuzz.mp", std::move(text));
  if (c.ok()) {
    std::string image = mp::vm::write_image(*c.image);
    mp::vm::Program::load({reinterpret_cast<const uint8_t*>(image.data()), image.size()});
  }
  return 0;
}
