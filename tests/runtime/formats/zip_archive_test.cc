#include "runtime/formats/zip_archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

using ::testing::HasSubstr;

void PutLe(std::string& out, uint64_t value, int size) {
  for (int i = 0; i < size; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint32_t Crc(const std::string& data) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

// One record for BuildZip; the defaults make a valid stored record, the
// setters break it.
struct Entry {
  Entry(std::string name_in, std::string data_in)
      : name(std::move(name_in)), data(std::move(data_in)) {}
  Entry& Method(uint16_t value) {
    method = value;
    return *this;
  }
  Entry& Flags(uint16_t value) {
    flags = value;
    return *this;
  }
  Entry& LocalName(std::string value) {
    local_name = std::move(value);
    return *this;
  }
  Entry& ClaimedSize(uint64_t value) {
    claimed_size = value;
    return *this;
  }
  Entry& LocalExtra(uint16_t value) {
    local_extra = value;
    return *this;
  }
  Entry& Zip64() {
    zip64 = true;
    return *this;
  }
  Entry& Descriptor() {
    descriptor = true;
    return *this;
  }
  Entry& LocalExtraLengthOff(int value) {
    local_extra_length_off = value;
    return *this;
  }
  Entry& LocalSize(uint64_t value) {
    local_size = value;
    return *this;
  }
  Entry& LocalMethod(uint16_t value) {
    local_method = value;
    return *this;
  }

  std::string name;
  std::string data;
  uint16_t method = 0;
  uint16_t flags = 0;
  std::string local_name;              // empty: same as name
  uint64_t claimed_size = UINT64_MAX;  // UINT64_MAX: data.size()
  uint16_t local_extra = 0;            // padding bytes in the local extra field (torch's "FB")
  bool zip64 = false;                  // sizes and offset in a ZIP64 extra field
  // Flag bit 3: zeros in the local header, CRC-32 and sizes in a data
  // descriptor after the data (as torch.save's miniz writes).
  bool descriptor = false;
  int local_extra_length_off = 0;    // added to the local extra field's length
  uint64_t local_size = UINT64_MAX;  // UINT64_MAX: the central directory's
  int local_method = -1;             // -1: the central directory's
};

struct ZipOptions {
  ZipOptions& Zip64End() {
    zip64_end = true;
    return *this;
  }
  ZipOptions& Comment(std::string value) {
    comment = std::move(value);
    return *this;
  }

  bool zip64_end = false;  // a ZIP64 end record and locator (as torch writes)
  std::string comment;
};

// A zip archive of `entries`, written the way torch.save's miniz does.
std::string BuildZip(const std::vector<Entry>& entries, const ZipOptions& options = {}) {
  std::string out;
  std::string central;
  for (const Entry& entry : entries) {
    const uint64_t header = out.size();
    const uint64_t size = entry.claimed_size == UINT64_MAX ? entry.data.size() : entry.claimed_size;
    const std::string& local_name = entry.local_name.empty() ? entry.name : entry.local_name;
    const uint16_t flags = entry.flags | (entry.descriptor ? 0x0008 : 0);
    const uint64_t local_size = entry.descriptor                 ? 0
                                : entry.local_size == UINT64_MAX ? size
                                                                 : entry.local_size;
    PutLe(out, 0x04034b50, 4);
    PutLe(out, 20, 2);
    PutLe(out, flags, 2);
    PutLe(out, entry.local_method < 0 ? entry.method : entry.local_method, 2);
    PutLe(out, 0, 4);  // time, date
    PutLe(out, entry.descriptor ? 0 : Crc(entry.data), 4);
    PutLe(out, local_size, 4);
    PutLe(out, local_size, 4);
    PutLe(out, local_name.size(), 2);
    PutLe(out, (entry.local_extra == 0 ? 0 : entry.local_extra + 4) + entry.local_extra_length_off,
          2);
    out += local_name;
    if (entry.local_extra != 0) {
      out += "FB";
      PutLe(out, entry.local_extra, 2);
      out += std::string(entry.local_extra, 'Z');
    }
    out += entry.data;
    if (entry.descriptor) {
      PutLe(out, 0x08074b50, 4);
      PutLe(out, Crc(entry.data), 4);
      PutLe(out, size, 4);
      PutLe(out, size, 4);
    }

    std::string extra;
    if (entry.zip64) {
      PutLe(extra, 0x0001, 2);
      PutLe(extra, 24, 2);
      PutLe(extra, size, 8);
      PutLe(extra, size, 8);
      PutLe(extra, header, 8);
    }
    PutLe(central, 0x02014b50, 4);
    PutLe(central, 45, 2);
    PutLe(central, 45, 2);
    PutLe(central, flags, 2);
    PutLe(central, entry.method, 2);
    PutLe(central, 0, 4);
    PutLe(central, Crc(entry.data), 4);
    PutLe(central, entry.zip64 ? 0xffffffff : size, 4);
    PutLe(central, entry.zip64 ? 0xffffffff : size, 4);
    PutLe(central, entry.name.size(), 2);
    PutLe(central, extra.size(), 2);
    PutLe(central, 0, 2);  // comment
    PutLe(central, 0, 2);  // disk
    PutLe(central, 0, 2);  // internal attributes
    PutLe(central, 0, 4);  // external attributes
    PutLe(central, entry.zip64 ? 0xffffffff : header, 4);
    central += entry.name;
    central += extra;
  }
  const uint64_t central_offset = out.size();
  out += central;
  if (options.zip64_end) {
    const uint64_t end64_offset = out.size();
    PutLe(out, 0x06064b50, 4);
    PutLe(out, 44, 8);
    PutLe(out, 45, 2);
    PutLe(out, 45, 2);
    PutLe(out, 0, 4);
    PutLe(out, 0, 4);
    PutLe(out, entries.size(), 8);
    PutLe(out, entries.size(), 8);
    PutLe(out, central.size(), 8);
    PutLe(out, central_offset, 8);
    PutLe(out, 0x07064b50, 4);
    PutLe(out, 0, 4);
    PutLe(out, end64_offset, 8);
    PutLe(out, 1, 4);
  }
  PutLe(out, 0x06054b50, 4);
  PutLe(out, 0, 2);
  PutLe(out, 0, 2);
  PutLe(out, options.zip64_end ? 0xffff : entries.size(), 2);
  PutLe(out, options.zip64_end ? 0xffff : entries.size(), 2);
  PutLe(out, options.zip64_end ? 0xffffffff : central.size(), 4);
  PutLe(out, options.zip64_end ? 0xffffffff : central_offset, 4);
  PutLe(out, options.comment.size(), 2);
  out += options.comment;
  return out;
}

// Reads `bytes` as a zip archive named "test.pt", held in memory.
ZipArchive ReadZip(const std::string& bytes) {
  auto shared = std::make_shared<std::string>(bytes);
  return ZipArchive::Read("test.pt", bytes.size(),
                          [shared](uint64_t offset, size_t size, void* dst, std::string_view what) {
                            if (offset > shared->size() || size > shared->size() - offset) {
                              throw CorruptModelCheckpointError(
                                  "test.pt", "short read of " + std::string(what));
                            }
                            std::memcpy(dst, shared->data() + offset, size);
                          });
}

std::string ErrorOf(const std::string& bytes) {
  try {
    ReadZip(bytes);
  } catch (const CorruptModelCheckpointError& error) {
    EXPECT_EQ(error.path(), "test.pt");
    return error.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(ZipArchiveTest, ReadsRecordsAndTheirDataOffsets) {
  const std::string zip = BuildZip({Entry("archive/data.pkl", "pickle bytes"),
                                    Entry("archive/data/0", std::string(100, 'x')).LocalExtra(40),
                                    Entry("archive/version", "3\n")},
                                   ZipOptions().Comment("a comment"));
  ZipArchive archive = ReadZip(zip);
  ASSERT_EQ(archive.records().size(), 3u);
  const ZipRecord& pkl = archive.records()[0];
  EXPECT_EQ(pkl.name, "archive/data.pkl");
  EXPECT_EQ(pkl.header_offset, 0u);
  EXPECT_EQ(pkl.offset, 30u + 16u);
  EXPECT_EQ(pkl.size, 12u);
  EXPECT_EQ(zip.substr(pkl.offset, pkl.size), "pickle bytes");

  const ZipRecord* data = archive.Find("archive/data/0");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->offset, 46u + 12u + 30u + 14u + 44u);  // after the extra field
  EXPECT_EQ(zip.substr(data->offset, data->size), std::string(100, 'x'));
  EXPECT_EQ(archive.Find("archive/data/1"), nullptr);

  EXPECT_EQ(archive.ReadRecord(*archive.Find("archive/version"), 100), "3\n");
  EXPECT_EQ(archive.ReadRecord(pkl, 12), "pickle bytes");
  EXPECT_THAT([&] { archive.ReadRecord(pkl, 11); },
              ::testing::ThrowsMessage<CorruptModelCheckpointError>(
                  HasSubstr("zip record 'archive/data.pkl' at byte 46 has 12 bytes, more than the "
                            "limit of 11")));
}

TEST(ZipArchiveTest, ReadsZip64RecordsAndEndRecords) {
  const std::string zip =
      BuildZip({Entry("archive/data.pkl", "abc").Zip64(),
                Entry("archive/data/0", std::string(64, '\1')).LocalExtra(12).Zip64()},
               ZipOptions().Zip64End());
  ZipArchive archive = ReadZip(zip);
  ASSERT_EQ(archive.records().size(), 2u);
  const ZipRecord& data = archive.records()[1];
  EXPECT_EQ(data.header_offset, 30u + 16u + 3u);
  EXPECT_EQ(data.offset, data.header_offset + 30u + 14u + 16u);
  EXPECT_EQ(data.size, 64u);
  EXPECT_EQ(archive.ReadRecord(archive.records()[0], 3), "abc");
}

TEST(ZipArchiveTest, ChecksTheCrcOfRecordsReadWhole) {
  std::string zip = BuildZip({Entry("archive/version", "3\n")});
  zip[30 + 15] = '4';  // the data, not the CRC
  ZipArchive archive = ReadZip(zip);
  EXPECT_THAT([&] { archive.ReadRecord(archive.records()[0], 10); },
              ::testing::ThrowsMessage<CorruptModelCheckpointError>(
                  HasSubstr("zip record 'archive/version' at byte 45: its CRC-32 is")));
}

TEST(ZipArchiveTest, RefusesFilesWithoutAnEndRecord) {
  const std::string zip = BuildZip({Entry("archive/data.pkl", std::string(1000, 'p'))});
  EXPECT_THAT(ErrorOf(zip.substr(0, zip.size() / 2)),
              HasSubstr("no zip end of central directory record in the last 565 bytes of the "
                        "file (565 bytes): the file is truncated or not a zip archive"));
  EXPECT_THAT(ErrorOf(zip.substr(0, zip.size() - 1)),
              HasSubstr("no zip end of central directory record"));
  EXPECT_THAT(ErrorOf("PK\x03\x04"), HasSubstr("not a zip archive: 4 bytes are too few"));
  EXPECT_THAT(ErrorOf(std::string(100000, '\x80')),
              HasSubstr("no zip end of central directory record in the last 65557 bytes"));
}

TEST(ZipArchiveTest, RefusesACentralDirectoryPastTheEnd) {
  std::string zip = BuildZip({Entry("archive/data.pkl", "x")});
  // The end record's central directory offset: 16 bytes into the end record.
  const size_t end = zip.size() - 22;
  zip[end + 16] = '\x00';
  zip[end + 17] = '\x10';  // 4096
  EXPECT_THAT(ErrorOf(zip),
              HasSubstr("the zip central directory (62 bytes at byte 4096) passes the end of the "
                        "file (131 bytes)"));
}

TEST(ZipArchiveTest, RefusesRecordsClaimingMoreDataThanTheFileHas) {
  // A record claiming 2 TiB (ZIP64 sizes) in a file of a few hundred bytes.
  const std::string zip =
      BuildZip({Entry("archive/data/0", "tiny").ClaimedSize(uint64_t{1} << 41).Zip64()},
               ZipOptions().Zip64End());
  EXPECT_THAT(ErrorOf(zip),
              HasSubstr("zip record 'archive/data/0' (central directory header at byte 48) "
                        "claims 2199023255552 bytes of data at byte 44, past the end of the file "
                        "(234 bytes): the file is truncated or the record is a zip bomb"));
  const std::string plain = BuildZip({Entry("archive/data/0", "tiny").ClaimedSize(0xfffffff0)});
  EXPECT_THAT(ErrorOf(plain),
              HasSubstr("claims 4294967280 bytes of data at byte 44, past the end"));
}

TEST(ZipArchiveTest, RefusesCompressedAndEncryptedRecords) {
  EXPECT_THAT(ErrorOf(BuildZip({Entry("archive/data.pkl", "x").Method(8)})),
              HasSubstr("zip record 'archive/data.pkl' (central directory header at byte 47) is "
                        "compressed (method 8, deflate); torch.save stores records uncompressed"));
  EXPECT_THAT(ErrorOf(BuildZip({Entry("archive/data.pkl", "x").Flags(1)})),
              HasSubstr("zip record 'archive/data.pkl' (central directory header at byte 47) is "
                        "encrypted"));
}

TEST(ZipArchiveTest, RefusesLocalNamesThatDifferAndDuplicateNames) {
  EXPECT_THAT(ErrorOf(BuildZip({Entry("archive/data.pkl", "x").LocalName("archive/evil.pkl")})),
              HasSubstr("zip record 'archive/data.pkl' (central directory header at byte 47): its "
                        "local header at byte 0 names it 'archive/evil.pkl' instead"));
  EXPECT_THAT(ErrorOf(BuildZip({Entry("archive/data/0", "a"), Entry("archive/data/0", "b")})),
              HasSubstr("zip record 'archive/data/0' (central directory header at byte 150): a "
                        "record of that name comes before it (duplicate name)"));
}

TEST(ZipArchiveTest, RefusesEndRecordsThatNeedZip64WithoutIt) {
  std::string zip = BuildZip({Entry("a", "x")}, ZipOptions().Zip64End());
  // Break the locator's signature.
  zip[zip.size() - 22 - 20] = 'Q';
  EXPECT_THAT(ErrorOf(zip), HasSubstr("needs ZIP64 but no ZIP64 locator precedes it"));
}

TEST(ZipArchiveTest, EveryTruncationIsRefused) {
  const std::string zip =
      BuildZip({Entry("archive/data.pkl", "abc").Zip64(), Entry("archive/version", "3\n")},
               ZipOptions().Zip64End());
  for (size_t size = 0; size < zip.size(); ++size) {
    EXPECT_THROW(ReadZip(zip.substr(0, size)), CorruptModelCheckpointError) << size;
  }
}

TEST(ZipArchiveTest, ReadsRecordsWithDataDescriptors) {
  // As torch.save's miniz writes: flag bit 3, zeros in the local header, the
  // CRC-32 and sizes after the data.
  const std::string zip =
      BuildZip({Entry("archive/data.pkl", "pickle").Descriptor().LocalExtra(10),
                Entry("archive/data/0", std::string(16, '\0')).Descriptor().LocalExtra(20)});
  ZipArchive archive = ReadZip(zip);
  ASSERT_EQ(archive.records().size(), 2u);
  EXPECT_EQ(archive.records()[0].offset, 30u + 16u + 14u);
  EXPECT_EQ(archive.ReadRecord(archive.records()[0], 100), "pickle");
  // The first record's data and 16-byte descriptor end at 60 + 6 + 16.
  EXPECT_EQ(archive.records()[1].header_offset, 82u);
  EXPECT_EQ(archive.records()[1].offset, 82u + 30u + 14u + 24u);
}

// A local header whose extra field length is 4 bytes off puts the data 4
// bytes off: refused, where the reader would otherwise load shifted values.
TEST(ZipArchiveTest, RefusesLocalExtraFieldLengthsOffByFour) {
  // Longer: the data's first 4 bytes become a block header; zeros make a
  // well-formed empty block, so the data descriptor tells.
  const std::string zeros = std::string(4, '\0') + "0123456789ab";
  EXPECT_EQ(
      ErrorOf(BuildZip(
          {Entry("archive/data/0", zeros).Descriptor().LocalExtra(20).LocalExtraLengthOff(4)})),
      absl::StrFormat("test.pt: corrupt model checkpoint: zip record 'archive/data/0' "
                      "(central directory header at byte 100): no data descriptor at byte "
                      "88, past its 16 bytes of data at byte 72, matches the central "
                      "directory (CRC-32 %08x, 16 bytes): the local header and the central "
                      "directory disagree",
                      Crc(zeros)));
  EXPECT_EQ(ErrorOf(BuildZip({Entry("archive/data/0", "xxxx0123456789ab")
                                  .Descriptor()
                                  .LocalExtra(20)
                                  .LocalExtraLengthOff(4)})),
            "test.pt: corrupt model checkpoint: zip record 'archive/data/0' (central directory "
            "header at byte 100): its local header at byte 0 has a 28-byte extra field whose "
            "block at byte 68 (id 0x7878) claims 30840 bytes, past the end of the extra field at "
            "byte 72: the local header and the central directory disagree");
  // Shorter: the padding block passes the end of the extra field.
  EXPECT_EQ(
      ErrorOf(BuildZip(
          {Entry("archive/data/0", zeros).Descriptor().LocalExtra(20).LocalExtraLengthOff(-4)})),
      "test.pt: corrupt model checkpoint: zip record 'archive/data/0' (central directory "
      "header at byte 100): its local header at byte 0 has a 20-byte extra field whose "
      "block at byte 44 (id 0x4246) claims 20 bytes, past the end of the extra field at "
      "byte 64: the local header and the central directory disagree");
  // Without data descriptors (Python's zipfile), the data runs into the next
  // record or the central directory.
  EXPECT_EQ(ErrorOf(BuildZip({Entry("archive/data/0", zeros).LocalExtraLengthOff(4),
                              Entry("archive/version", "3\n")})),
            "test.pt: corrupt model checkpoint: zip record 'archive/data/0' (central directory "
            "header at byte 107): its data at byte 48 runs to byte 64, into the local header of "
            "zip record 'archive/version' at byte 60: the local header and the central directory "
            "disagree");
  EXPECT_THAT(ErrorOf(BuildZip({Entry("archive/data/0", zeros).LocalExtraLengthOff(4)})),
              HasSubstr("its data at byte 48 runs to byte 64, into the central directory at "
                        "byte 60"));
}

TEST(ZipArchiveTest, RefusesLocalSizesAndMethodsThatDisagree) {
  EXPECT_EQ(ErrorOf(BuildZip({Entry("archive/data/0", "abc").LocalSize(7)})),
            absl::StrFormat("test.pt: corrupt model checkpoint: zip record 'archive/data/0' "
                            "(central directory header at byte 47): its local header at byte 0 "
                            "says CRC-32 %08x, 7 compressed and 7 uncompressed bytes, but the "
                            "central directory says CRC-32 %08x and 3 bytes: the local header "
                            "and the central directory disagree",
                            Crc("abc"), Crc("abc")));
  EXPECT_THAT(ErrorOf(BuildZip({Entry("archive/data/0", "abc").LocalMethod(8)})),
              HasSubstr("its local header at byte 0 says compression method 8 (deflate), the "
                        "central directory says stored (0)"));
}

// torch.save's own file, its record's local extra field length edited by 4
// either way: refused naming the record and byte offsets, never read shifted.
TEST(ZipArchiveTest, RefusesTorchSaveFilesWithShiftedRecords) {
  std::ifstream in("tests/runtime/formats/torch_fixtures/state_dict.pt", std::ios::binary);
  const std::string real{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  ASSERT_GT(real.size(), 1000u);
  EXPECT_EQ(ReadZip(real).records().size(), ReadZip(real).records().size());
  const size_t name = real.find("state_dict/data/0");
  ASSERT_NE(name, std::string::npos);
  const size_t header = name - 30;
  ASSERT_EQ(real.compare(header, 4, "PK\x03\x04"), 0);
  const uint16_t extra = static_cast<uint8_t>(real[header + 28]) |
                         static_cast<uint16_t>(static_cast<uint8_t>(real[header + 29]) << 8);
  for (int off : {-4, 4}) {
    SCOPED_TRACE(off);
    std::string edited = real;
    const uint16_t length = static_cast<uint16_t>(extra + off);
    edited[header + 28] = static_cast<char>(length & 0xff);
    edited[header + 29] = static_cast<char>(length >> 8);
    const std::string message = ErrorOf(edited);
    EXPECT_THAT(message, HasSubstr("zip record 'state_dict/data/0' (central directory header at "
                                   "byte "));
    EXPECT_THAT(message, HasSubstr(absl::StrCat("at byte ")));
    EXPECT_THAT(message, HasSubstr(": the local header and the central directory disagree"));
  }
}

}  // namespace
}  // namespace modelhub
