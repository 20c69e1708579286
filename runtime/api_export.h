// MP_API marks the C++ API that libmailpolicy.so exports (vm::Program, vm::Evaluator,
// vm::FactSource, runtime::Message, dns::Resolver, auth::MessageFacts, ...). Everything
// is compiled with -fvisibility=hidden, so only what carries this mark (and the C API
// of mailpolicy.h) is visible to embedders; the rest stays free to change.
#pragma once

#if defined(__GNUC__)
#define MP_API __attribute__((visibility("default")))
#else
#define MP_API
#endif
