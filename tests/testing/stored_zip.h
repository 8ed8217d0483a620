#ifndef MODELHUB_TESTS_TESTING_STORED_ZIP_H_
#define MODELHUB_TESTS_TESTING_STORED_ZIP_H_

// Honest uncompressed zip archives, as torch.save writes them, built in memory
// for tests and fuzzers of the torch.save reader.

#include <string>
#include <utility>
#include <vector>

namespace modelhub::testing {

// The bytes of an uncompressed (stored) zip of `records` (name, bytes), with
// CRC-32s, in the order given, as torch.save writes one but without its
// 64-byte alignment of record data, which readers do not need.
std::string StoredZip(const std::vector<std::pair<std::string, std::string>>& records);

}  // namespace modelhub::testing

#endif  // MODELHUB_TESTS_TESTING_STORED_ZIP_H_
