#include "nextier/eventstore/personal.h"

#include <capnp/serialize-packed.h>
#include <capnp/serialize.h>
#include <kj/io.h>

#include <cstring>

namespace nextier::eventstore {
namespace {

constexpr char kPackedMarker = '\xFF';

}  // namespace

std::string EncodePersonal(capnp::MessageBuilder& message) {
  // Packing turns a word into at most ten bytes (a tag, eight bytes, a run count), so the packer
  // writes straight into a string sized for that and cut to what it wrote.
  const size_t flat = capnp::computeSerializedSizeInWords(message) * sizeof(capnp::word);
  std::string out(1 + flat + flat / 4 + 16, '\0');
  out[0] = kPackedMarker;
  kj::ArrayOutputStream stream(
      kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data()) + 1, out.size() - 1));
  capnp::writePackedMessage(stream, message);
  out.resize(1 + stream.getArray().size());
  return out;
}

Status ReadPersonal(std::string_view plain,
                    const std::function<void(schema::Personal::Reader)>& fn) {
  if (plain.empty()) return Status::Corruption("the personal data is empty");
  try {
    if (plain.front() == kPackedMarker) {
      kj::ArrayInputStream in(
          kj::arrayPtr(reinterpret_cast<const kj::byte*>(plain.data()) + 1, plain.size() - 1));
      capnp::PackedMessageReader reader(in);
      fn(reader.getRoot<schema::Personal>());
      return Status::Ok();
    }
    if (plain.size() % sizeof(capnp::word) != 0) {
      return Status::Corruption("the personal data is neither packed nor whole words (" +
                                std::to_string(plain.size()) + " bytes)");
    }
    // The flat form of older stores: copied to aligned words.
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(plain.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), plain.data(), plain.size());
    capnp::FlatArrayMessageReader reader(words);
    fn(reader.getRoot<schema::Personal>());
    return Status::Ok();
  } catch (const kj::Exception& e) {
    return Status::Corruption(std::string("the personal data does not decode: ") +
                              e.getDescription().cStr());
  }
}

}  // namespace nextier::eventstore
