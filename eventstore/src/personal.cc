#include "nextier/eventstore/personal.h"

#include <capnp/serialize-packed.h>
#include <capnp/serialize.h>
#include <kj/io.h>

#include <cstring>

namespace nextier::eventstore {
namespace {

constexpr char kPackedMarker = '\xFF';

// Appends what the packer writes straight to a string.
class StringOutput final : public kj::OutputStream {
 public:
  explicit StringOutput(std::string& out) : out_(out) {}
  void write(const void* buffer, size_t size) override {
    out_.append(static_cast<const char*>(buffer), size);
  }

 private:
  std::string& out_;
};

}  // namespace

std::string EncodePersonal(capnp::MessageBuilder& message) {
  std::string out;
  out.reserve(capnp::computeSerializedSizeInWords(message) * sizeof(capnp::word) / 2 + 16);
  out.push_back(kPackedMarker);
  StringOutput stream(out);
  capnp::writePackedMessage(stream, message);
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
