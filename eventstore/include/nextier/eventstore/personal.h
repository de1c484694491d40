// The plaintext inside a sealed `personal :Data` field: a Personal message.
//
// Written packed (Cap'n Proto's packing drops the zero bytes of pointers and padding, about a
// third of a typical record) behind a leading 0xFF byte. Stores written before that hold the
// flat form (messageToFlatArray), which starts with the little-endian count of segments minus
// one: never 0xFF for a message this small, so both forms are read.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <capnp/message.h>

#include <functional>
#include <string>
#include <string_view>

#include "nextier/common/status.h"
#include "nextier/eventstore/events.capnp.h"

namespace nextier::eventstore {

// The bytes to seal for `message` (whose root is a Personal).
std::string EncodePersonal(capnp::MessageBuilder& message);

// Decodes an opened plaintext (either form) and hands its Personal to `fn`. Corruption, with the
// reason, when the bytes do not decode or a field read by `fn` is out of bounds.
Status ReadPersonal(std::string_view plain,
                    const std::function<void(schema::Personal::Reader)>& fn);

}  // namespace nextier::eventstore
