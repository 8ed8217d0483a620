// Checkpoint loading: throughput against this machine's memcpy and peak
// resident memory against the model's bytes, all in one run. Reference rows use
// one thread; LoadCheckpoint uses its own threads (one per core, at most 8).
//
//   bazel run -c opt //bench:load_bench -- [--family qwen] [--arch qwen25_0.5b]
//       [--dir DIR] [--reps 3] [--row-budget 4] [--seed 0] [--keep] [--no-prototypes]
//       [--write-only] [--torch-file PT]
//   bench/compare_load.sh   (the same, with Python's torch.load side by side)
//
// Creates the preset with seeded random weights, writes it as a Hugging Face
// checkpoint (2 safetensors shards and their index) in DIR (default: a new
// /tmp/modelhub_load_bench.XXXXXX), with manifest.tsv naming each tensor's
// file range for bench/torch_load_baseline.py, frees the model, reads the files
// once so that they are in the page cache, then measures (best and median of
// --reps; peak = VmHWM after minus VmRSS before, with VmHWM reset through
// /proc/self/clear_refs):
//   memory:     memcpy and page faulting of 1 GiB, no files;
//   files:      pread and mmap of the checkpoint's files without modelhub;
//   modelhub:   LoadCheckpoint with the pread and mmap strategies;
//   prototypes: LoadCheckpoint's loop re-implemented here with changes the
//               runtime could adopt (nothing in runtime/ is changed): populating
//               the parameters' memory first, one huge-page arena for all
//               parameters, MADV_DONTNEED behind the mmap strategy, and
//               parameters that are zero-copy views of the files.
// --write-only stops once the checkpoint and manifest are written; --torch-file
// also measures LoadCheckpoint of PT, a torch.save copy of the same tensors
// (compare_load.sh has Python write it). Lines starting with RESULT are read by
// bench/compare_load.sh. The checkpoint
// is removed at the end unless --keep (DIR and manifest.tsv are kept if
// --dir was given).

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "bench/proc_memory.h"
#include "runtime/formats/safetensors.h"
#include "runtime/hub/checkpoint_loader.h"
#include "runtime/hub/model_family_registry.h"
#include "runtime/mapping/key_map.h"

// Linux 5.14; Debian 12's glibc headers may lack them.
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using bench::ProcBytes;
using bench::ResetPeak;

constexpr size_t kMemBytes = size_t{1} << 30;  // memcpy reference size
constexpr size_t kChunk = size_t{16} << 20;    // TensorFile's pread chunk
constexpr size_t kHugePage = size_t{2} << 20;  // x86-64 transparent huge page
constexpr double kGB = 1e9;

struct Flags {
  std::string family = "qwen";
  std::string arch = "qwen25_0.5b";
  std::string dir;  // empty: a new directory under /tmp
  int reps = 3;
  double row_budget = 4;  // seconds; see Bench::Measure
  uint64_t seed = 0;
  bool keep = false;
  bool prototypes = true;
  bool write_only = false;  // write the checkpoint and manifest, measure nothing
  std::string torch_file;   // a torch.save copy of the checkpoint to load too
};

[[noreturn]] void Usage(const std::string& error) {
  std::cerr
      << "load_bench: " << error
      << "\nusage: load_bench [--family F] [--arch A] [--dir DIR] [--reps N] [--row-budget S] "
         "[--seed S] "
         "[--keep] [--no-prototypes] [--write-only] [--torch-file PT]\n";
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::optional<std::string> value;
    if (const size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    const auto take = [&]() -> std::string {
      if (value) return *value;
      if (i + 1 >= argc) Usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--family") {
      flags.family = take();
    } else if (arg == "--arch") {
      flags.arch = take();
    } else if (arg == "--dir") {
      flags.dir = take();
    } else if (arg == "--reps") {
      flags.reps = std::stoi(take());
      if (flags.reps < 1) Usage("--reps must be at least 1");
    } else if (arg == "--row-budget") {
      flags.row_budget = std::stod(take());
    } else if (arg == "--seed") {
      flags.seed = std::stoull(take());
    } else if (arg == "--keep" && !value) {
      flags.keep = true;
    } else if (arg == "--no-prototypes" && !value) {
      flags.prototypes = false;
    } else if (arg == "--write-only" && !value) {
      flags.write_only = true;
      flags.keep = true;
    } else if (arg == "--torch-file") {
      flags.torch_file = take();
    } else {
      Usage("unknown argument " + std::string(argv[i]));
    }
  }
  return flags;
}

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] void ThrowErrno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// ---------------------------------------------------------------------------
// Resident memory, from /proc/self.

std::string ReadLine(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line.empty() ? "?" : line;
}

// ---------------------------------------------------------------------------
// Memory and files without modelhub.

// Fresh anonymous memory (no page touched yet), 2 MiB aligned. `huge` asks for
// transparent huge pages (MADV_HUGEPAGE), otherwise 4 KiB pages are forced
// (MADV_NOHUGEPAGE), whatever the system's THP mode.
class Anon {
 public:
  Anon(size_t size, bool huge) : size_(size), mapped_(size + kHugePage) {
    base_ = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base_ == MAP_FAILED) ThrowErrno("mmap");
    const uintptr_t at = (reinterpret_cast<uintptr_t>(base_) + kHugePage - 1) & ~(kHugePage - 1);
    data_ = reinterpret_cast<char*>(at);
    ::madvise(data_, size_, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  }
  ~Anon() { ::munmap(base_, mapped_); }
  Anon(const Anon&) = delete;
  Anon& operator=(const Anon&) = delete;

  char* data() const { return data_; }
  size_t size() const { return size_; }
  void Touch(int byte = 0) { std::memset(data_, byte, size_); }

 private:
  size_t size_;
  size_t mapped_;
  void* base_ = nullptr;
  char* data_ = nullptr;
};

// madvise over the pages [data, data + size) touches, rounded out to pages.
int MadvisePages(const void* data, size_t size, int advice) {
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + size + page - 1) & ~(page - 1);
  return ::madvise(reinterpret_cast<void*>(begin), end - begin, advice);
}

class Fd {
 public:
  explicit Fd(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) ThrowErrno("open " + path);
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  size_t size() const {
    struct stat st;
    if (::fstat(fd_, &st) != 0) ThrowErrno("fstat");
    return static_cast<size_t>(st.st_size);
  }

 private:
  int fd_;
};

void PreadAll(int fd, char* dst, size_t size, size_t chunk) {
  size_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(fd, dst + done, std::min(chunk, size - done), done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) ThrowErrno("pread");
    done += static_cast<size_t>(got);
  }
}

// A read-only private map of a whole file.
class FileMap {
 public:
  // A private map (copy-on-write where `prot` allows writes).
  FileMap(const std::string& path, int flags, int prot = PROT_READ) : fd_(path), size_(fd_.size()) {
    data_ = static_cast<char*>(::mmap(nullptr, size_, prot, MAP_PRIVATE | flags, fd_.get(), 0));
    if (data_ == MAP_FAILED) ThrowErrno("mmap " + path);
  }
  ~FileMap() { ::munmap(data_, size_); }
  FileMap(const FileMap&) = delete;
  FileMap& operator=(const FileMap&) = delete;
  char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  Fd fd_;
  size_t size_;
  char* data_ = nullptr;
};

// The share of `path`'s pages in the page cache (mincore).
double CachedShare(const std::string& path) {
  FileMap map(path, 0);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((map.size() + page - 1) / page);
  if (::mincore(const_cast<char*>(map.data()), map.size(), resident.data()) != 0) {
    ThrowErrno("mincore");
  }
  size_t in = 0;
  for (unsigned char r : resident) in += r & 1;
  return resident.empty() ? 1.0 : static_cast<double>(in) / static_cast<double>(resident.size());
}

// ---------------------------------------------------------------------------
// The checkpoint.

struct Checkpoint {
  std::string dir;
  std::vector<std::string> files;                 // shards, absolute paths
  std::map<std::string, std::string> model_name;  // checkpoint name -> parameter name
  uint64_t model_bytes = 0;                       // parameter bytes
  uint64_t file_bytes = 0;                        // shard file sizes
};

// Writes `family`/`config` with random weights as a 2-shard Hugging Face
// checkpoint in `dir`, plus manifest.tsv.
Checkpoint WriteCheckpoint(const ModelFamily& family, const AnyConfig& config,
                           const std::string& arch, const std::string& dir, uint64_t seed) {
  const KeyMap* hf = family.FindKeyMap("hf");
  if (hf == nullptr) throw std::runtime_error("family " + family.name() + " has no 'hf' key map");
  Checkpoint checkpoint;
  checkpoint.dir = dir;
  using Tensors = std::vector<std::pair<std::string, at::Tensor>>;
  Tensors shards[2];
  {
    at::manual_seed(seed);
    ModelPlacement placement;
    placement.dtype = at::kFloat;
    std::shared_ptr<DecoderModel> model = family.CreateNewModel(config, placement);
    Tensors all;
    for (const auto& item : model->named_parameters()) {
      std::optional<std::string> name = hf->Unmap(item.key());
      if (!name) throw std::runtime_error("no Hugging Face name for parameter " + item.key());
      checkpoint.model_name[*name] = item.key();
      checkpoint.model_bytes += item.value().nbytes();
      all.emplace_back(*name, item.value());
    }
    uint64_t bytes = 0;
    for (auto& tensor : all) {
      const int shard = bytes < checkpoint.model_bytes / 2 ? 0 : 1;
      bytes += tensor.second.nbytes();
      shards[shard].push_back(std::move(tensor));
    }
  }
  nlohmann::json index = {{"metadata", {{"total_size", checkpoint.model_bytes}}},
                          {"weight_map", nlohmann::json::object()}};
  std::ofstream manifest(fs::path(dir) / "manifest.tsv");
  manifest << "# bench/load_bench manifest: tensor, name, dtype, shape, file, begin, end\n"
           << "arch\t" << family.name() << "/" << arch << "\n"
           << "model_bytes\t" << checkpoint.model_bytes << "\n";
  for (int s = 0; s < 2; ++s) {
    const std::string file = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
    const std::string path = (fs::path(dir) / file).string();
    WriteSafetensors(path, shards[s], {{"format", "pt"}});
    shards[s].clear();  // frees the model's memory as soon as it is written
    checkpoint.files.push_back(path);
    checkpoint.file_bytes += fs::file_size(path);
    const TensorFile written = OpenSafetensors(path);
    for (const TensorEntry& entry : written.entries()) {
      index["weight_map"][entry.name] = file;
      std::string shape;
      for (int64_t d : entry.shape) shape += (shape.empty() ? "" : ",") + std::to_string(d);
      manifest << "tensor\t" << entry.name << "\t" << TensorDtypeName(entry.dtype) << "\t" << shape
               << "\t" << file << "\t" << entry.begin << "\t" << entry.end << "\n";
    }
  }
  std::ofstream(fs::path(dir) / "model.safetensors.index.json") << index.dump(2) << "\n";
  if (!manifest.flush()) throw std::runtime_error("cannot write the manifest in " + dir);
  return checkpoint;
}

// Reads every file once (so that timed reads come from the page cache).
void WarmPageCache(const std::vector<std::string>& files) {
  std::vector<char> buffer(kChunk);
  for (const std::string& path : files) {
    Fd fd(path);
    const size_t size = fd.size();
    for (size_t done = 0; done < size; done += kChunk) {
      if (::pread(fd.get(), buffer.data(), std::min(kChunk, size - done), done) < 0) {
        ThrowErrno("pread " + path);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Measuring.

struct Row {
  std::string section;
  std::string name;
  uint64_t bytes = 0;
  std::vector<double> seconds;
  std::vector<double> inner;  // LoadStats.seconds, where there is one
  uint64_t peak = 0;          // largest VmHWM - VmRSS(before) over the repetitions
  std::string note;

  static double Best(const std::vector<double>& s) { return *std::min_element(s.begin(), s.end()); }
  static double Median(std::vector<double> s) {
    std::sort(s.begin(), s.end());
    return s[s.size() / 2];
  }
  double BestGbps() const { return static_cast<double>(bytes) / Best(seconds) / kGB; }
  double MedianGbps() const { return static_cast<double>(bytes) / Median(seconds) / kGB; }
};

// What one repetition reports: the seconds of its timed part and, optionally,
// LoadStats.seconds and a note.
struct Times {
  explicit Times(double seconds = 0, double inner = -1, std::string note = "")
      : seconds(seconds), inner(inner), note(std::move(note)) {}
  double seconds;
  double inner;
  std::string note;
};

class Bench {
 public:
  Bench(int reps, double row_budget) : reps_(reps), row_budget_(row_budget) {}

  // Runs `once` --reps times, recording its times and the peak RSS growth.
  // The `memcpy_reference` row is the one xmemcpy divides by.
  // Unless `all_reps`, stops repeating once the repetitions took longer than
  // the row budget (keeps slow reference rows from dominating the run).
  const Row& Measure(const std::string& section, const std::string& name, uint64_t bytes,
                     const std::function<Times()>& once, bool all_reps = false,
                     bool memcpy_reference = false) {
    Row row;
    row.section = section;
    row.name = name;
    row.bytes = bytes;
    const auto start = Clock::now();
    for (int i = 0; i < reps_; ++i) {
      if (i > 0 && !all_reps && Since(start) > row_budget_) break;
      ResetPeak();
      const uint64_t before = ProcBytes("VmRSS");
      Times times = once();
      const uint64_t hwm = ProcBytes("VmHWM");
      row.peak = std::max(row.peak, hwm > before ? hwm - before : 0);
      row.seconds.push_back(times.seconds);
      if (times.inner >= 0) row.inner.push_back(times.inner);
      if (!times.note.empty()) row.note = times.note;
    }
    rows_.push_back(row);
    if (memcpy_reference) memcpy_gbps_ = row.BestGbps();
    Print(rows_.back());
    return rows_.back();
  }

  double memcpy_gbps() const { return memcpy_gbps_; }

  void PrintHeader() const {
    std::printf("\n%-11s %-58s %8s %8s %7s %9s  %s\n", "section", "what", "GB/s", "median",
                "xmemcpy", "peak/size", "notes");
    std::printf("%s\n", std::string(120, '-').c_str());
  }

 private:
  void Print(const Row& row) const {
    std::string note = row.note;
    if (static_cast<int>(row.seconds.size()) < reps_) {
      const std::string reps = std::to_string(row.seconds.size()) + " rep(s), over the row budget";
      note = note.empty() ? reps : reps + "; " + note;
    }
    if (!row.inner.empty()) {
      char text[96];
      std::snprintf(text, sizeof(text), "loop only (LoadStats.seconds): %.2f GB/s",
                    static_cast<double>(row.bytes) / Row::Best(row.inner) / kGB);
      note = note.empty() ? text : std::string(text) + "; " + note;
    }
    std::printf("%-11s %-58s %8.2f %8.2f %6.2fx %8.2fx  %s\n", row.section.c_str(),
                row.name.c_str(), row.BestGbps(), row.MedianGbps(),
                memcpy_gbps_ > 0 ? row.BestGbps() / memcpy_gbps_ : 0.0,
                static_cast<double>(row.peak) / static_cast<double>(row.bytes), note.c_str());
    std::fflush(stdout);
  }

  int reps_;
  double row_budget_;
  double memcpy_gbps_ = 0;
  std::vector<Row> rows_;
};

template <typename F>
double Timed(F&& f) {
  const auto start = Clock::now();
  f();
  return Since(start);
}

// ---------------------------------------------------------------------------
// Prototypes of LoadCheckpoint's loop.

// Where the parameters' memory comes from and what is done to it before the
// checkpoint's bytes go in. Per-tensor variants act on at::empty's memory (one
// glibc mmap per large parameter); arena variants re-point every parameter into
// one fresh 2 MiB-aligned MADV_HUGEPAGE mapping, as a runtime allocating a
// model's parameters together would.
enum class Dst {
  kAsIs,                // nothing: page faults during the copy (what LoadCheckpoint does)
  kPopulate,            // MADV_POPULATE_WRITE per tensor: the kernel maps its pages in one call
  kTouched,             // one write per page before the timer starts (user faults off the clock)
  kArena,               // one MADV_HUGEPAGE arena: 2 MiB faults during the copy
  kArenaPopulate,       // ...MADV_POPULATE_WRITE of the whole arena first
  kArenaTouch,          // ...one write per 4 KiB page of it first (kernels before 5.14)
  kArenaPopulateAhead,  // ...populated by a second thread, 64 MiB ahead of the reads
};
// How the bytes are read.
enum class Src {
  kPread,         // TensorFile::ReadInto (16 MiB preads), as LoadCheckpoint
  kMmapDontneed,  // memcpy from a map of the file (as LoadCheckpoint's mmap strategy), then
                  // MADV_DONTNEED of the tensor's mapped pages (page cache stays)
};

bool IsArena(Dst dst) {
  return dst == Dst::kArena || dst == Dst::kArenaPopulate || dst == Dst::kArenaTouch ||
         dst == Dst::kArenaPopulateAhead;
}

// Populates [data, data + size) on its own thread in steps, publishing how far
// it got, so that a reader can copy into populated memory while the next step
// is being zeroed on the other core.
class PopulateAhead {
 public:
  static constexpr size_t kStep = size_t{64} << 20;

  PopulateAhead(char* data, size_t size)
      : data_(data), size_(size), thread_([this] {
          for (size_t at = 0; at < size_; at += kStep) {
            MadvisePages(data_ + at, std::min(kStep, size_ - at), MADV_POPULATE_WRITE);
            done_.store(std::min(at + kStep, size_), std::memory_order_release);
          }
        }) {}
  ~PopulateAhead() { thread_.join(); }
  PopulateAhead(const PopulateAhead&) = delete;
  PopulateAhead& operator=(const PopulateAhead&) = delete;

  // Waits until the bytes up to `end` (an offset into the range) are populated.
  void WaitFor(size_t end) const {
    while (done_.load(std::memory_order_acquire) < std::min(end, size_)) std::this_thread::yield();
  }

 private:
  char* data_;
  size_t size_;
  std::atomic<size_t> done_{0};
  std::thread thread_;
};

Times PrototypeLoad(const ModelFamily& family, const AnyConfig& config,
                    const Checkpoint& checkpoint, Dst dst, Src src) {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  Times times;
  std::optional<Clock::time_point> start;
  if (dst != Dst::kTouched) start = Clock::now();
  ModelPlacement placement;
  placement.initialize = false;
  std::shared_ptr<DecoderModel> model = family.CreateNewModel(config, placement);
  auto parameters = model->named_parameters();
  at::NoGradGuard no_grad;

  // The arena, laid out in the checkpoint's reading order.
  std::shared_ptr<Anon> arena;
  std::map<std::string, size_t> arena_end;  // parameter -> end offset of its slice
  std::unique_ptr<PopulateAhead> ahead;
  if (IsArena(dst)) {
    size_t size = 0;
    for (auto& item : parameters) size += (item.value().nbytes() + 63) & ~size_t{63};
    arena = std::make_shared<Anon>(size, /*huge=*/true);
    size_t offset = 0;
    for (const std::string& path : checkpoint.files) {
      const TensorFile file = OpenSafetensors(path);
      for (const TensorEntry& entry : file.entries()) {
        const std::string& name = checkpoint.model_name.at(entry.name);
        at::Tensor& parameter = *parameters.find(name);
        parameter.set_(at::from_blob(
            arena->data() + offset, parameter.sizes(), [arena](void*) {}, parameter.options()));
        offset += (parameter.nbytes() + 63) & ~size_t{63};
        arena_end[name] = offset;
      }
    }
    if (dst == Dst::kArenaPopulate) {
      const double seconds = Timed([&] {
        if (MadvisePages(arena->data(), size, MADV_POPULATE_WRITE) != 0) {
          ThrowErrno("MADV_POPULATE_WRITE");
        }
      });
      char text[64];
      std::snprintf(text, sizeof(text), "populate %.2f GB/s; ", size / seconds / kGB);
      times.note = text;
    } else if (dst == Dst::kArenaTouch) {
      for (size_t at = 0; at < size; at += page) arena->data()[at] = 0;
    } else if (dst == Dst::kArenaPopulateAhead) {
      ahead = std::make_unique<PopulateAhead>(arena->data(), size);
    }
  } else if (dst == Dst::kTouched) {
    for (auto& item : parameters) {
      char* data = static_cast<char*>(item.value().data_ptr());
      for (size_t at = 0; at < item.value().nbytes(); at += page) data[at] = 0;
    }
    start = Clock::now();
  }

  for (const std::string& path : checkpoint.files) {
    const TensorFile file = OpenSafetensors(path);
    std::optional<FileMap> map;
    if (src == Src::kMmapDontneed) map.emplace(path, 0);
    for (const TensorEntry& entry : file.entries()) {
      const std::string& name = checkpoint.model_name.at(entry.name);
      at::Tensor& parameter = *parameters.find(name);
      void* data = parameter.data_ptr();
      if (dst == Dst::kPopulate && MadvisePages(data, entry.nbytes(), MADV_POPULATE_WRITE) != 0) {
        ThrowErrno("MADV_POPULATE_WRITE");
      }
      if (ahead) ahead->WaitFor(arena_end.at(name));
      if (src == Src::kPread) {
        file.ReadInto(entry, data);
      } else {
        const char* from = map->data() + entry.begin;
        std::memcpy(data, from, entry.nbytes());
        MadvisePages(from, entry.nbytes(), MADV_DONTNEED);
      }
    }
  }
  ahead.reset();
  times.seconds = Since(*start);
  if (IsArena(dst)) {
    times.note += "AnonHugePages " +
                  std::to_string(ProcBytes("AnonHugePages", "/proc/self/smaps_rollup") >> 20) +
                  " MiB";
  }
  return times;
}

// Parameters as views of private writable maps of the files (copy-on-write, so
// the model may still change them): no copy and no fresh memory. The pages are
// mapped with MADV_POPULATE_READ (MAP_POPULATE would break COW on a writable
// private map, copying every page), and one read per page stands for the
// first use of each page.
Times ZeroCopyLoad(const ModelFamily& family, const AnyConfig& config,
                   const Checkpoint& checkpoint) {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const auto start = Clock::now();
  ModelPlacement placement;
  placement.initialize = false;
  std::shared_ptr<DecoderModel> model = family.CreateNewModel(config, placement);
  auto parameters = model->named_parameters();
  at::NoGradGuard no_grad;
  char sum = 0;
  for (const std::string& path : checkpoint.files) {
    auto map = std::make_shared<FileMap>(path, 0, PROT_READ | PROT_WRITE);
    MadvisePages(map->data(), map->size(), MADV_POPULATE_READ);
    const TensorFile file = OpenSafetensors(path);
    for (const TensorEntry& entry : file.entries()) {
      at::Tensor& parameter = *parameters.find(checkpoint.model_name.at(entry.name));
      char* data = map->data() + entry.begin;
      parameter.set_(at::from_blob(
          data, parameter.sizes(), [map](void*) {}, parameter.options()));
      for (size_t at = 0; at < entry.nbytes(); at += page) sum ^= data[at];
    }
  }
  Times times(Since(start), -1, "RSS: page cache pages, clean and shared");
  volatile char sink = sum;
  (void)sink;
  return times;
}

// ---------------------------------------------------------------------------

int Run(const Flags& flags) {
  // One thread, as the reference figures are.
  at::set_num_threads(1);
  // A fixed mmap threshold (glibc's default, 128 KiB) keeps glibc from raising
  // it after a large block is freed: then every repetition allocates its
  // parameters as fresh pages, as a process loading once does, instead of
  // reusing heap pages a previous repetition faulted in.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);

  const ModelFamily& family = GetModelFamily(flags.family);
  std::unique_ptr<AnyConfig> config = family.GetArchConfig(flags.arch);

  std::string dir = flags.dir;
  const bool own_dir = dir.empty();
  if (own_dir) {
    std::string pattern = "/tmp/modelhub_load_bench.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) ThrowErrno("mkdtemp");
    dir = pattern;
  } else {
    fs::create_directories(dir);
    dir = fs::absolute(dir).string();
  }

  std::printf(
      "load_bench: %s/%s, float32, %d reps; reference rows one thread, LoadCheckpoint "
      "one thread per core (%u cores)\n",
      flags.family.c_str(), flags.arch.c_str(), flags.reps, std::thread::hardware_concurrency());
  std::printf("THP enabled: %s; defrag: %s\n",
              ReadLine("/sys/kernel/mm/transparent_hugepage/enabled").c_str(),
              ReadLine("/sys/kernel/mm/transparent_hugepage/defrag").c_str());
  std::fflush(stdout);

  Checkpoint checkpoint;
  const double write_seconds =
      Timed([&] { checkpoint = WriteCheckpoint(family, *config, flags.arch, dir, flags.seed); });
  if (flags.write_only) {
    std::printf("wrote %s (2 shards and manifest.tsv) in %.1f s\n", dir.c_str(), write_seconds);
    return 0;
  }
  WarmPageCache(checkpoint.files);
  if (!flags.torch_file.empty()) WarmPageCache({flags.torch_file});
  double cached = 1;
  for (const std::string& path : checkpoint.files) cached = std::min(cached, CachedShare(path));
  std::printf(
      "checkpoint: %s (2 shards, %.3f GB of tensors, %.3f GB of files; written in %.1f s)\n",
      dir.c_str(), checkpoint.model_bytes / kGB, checkpoint.file_bytes / kGB, write_seconds);
  std::printf("page cache: %.1f%% of the shards resident; VmRSS now %.0f MB\n", 100 * cached,
              ProcBytes("VmRSS") / 1e6);
  std::printf(
      "GB/s: best of %d (median next to it), bytes / seconds, 1 GB = 1e9 bytes; xmemcpy: best GB/s "
      "over memcpy's;\npeak/size: (VmHWM after - VmRSS before) / bytes moved (for loads: the "
      "model's bytes)\n",
      flags.reps);

  Bench bench(flags.reps, flags.row_budget);
  bench.PrintHeader();
  const uint64_t model_bytes = checkpoint.model_bytes;
  const uint64_t file_bytes = checkpoint.file_bytes;

  // Memory.
  {
    Anon src(kMemBytes, false), dst(kMemBytes, false);
    src.Touch(1);
    dst.Touch(0);
    bench.Measure(
        "memory", "memcpy 1 GiB -> prefaulted dst", kMemBytes,
        [&] { return Times{Timed([&] { std::memcpy(dst.data(), src.data(), kMemBytes); })}; },
        /*all_reps=*/true, /*memcpy_reference=*/true);
    bench.Measure("memory", "memcpy 1 GiB -> fresh dst (4 KiB faults)", kMemBytes, [&] {
      Anon fresh(kMemBytes, false);
      return Times{Timed([&] { std::memcpy(fresh.data(), src.data(), kMemBytes); })};
    });
    bench.Measure("memory", "memcpy 1 GiB -> fresh dst, MADV_HUGEPAGE (2 MiB faults)", kMemBytes,
                  [&] {
                    Anon fresh(kMemBytes, true);
                    return Times{Timed([&] { std::memcpy(fresh.data(), src.data(), kMemBytes); })};
                  });
    bench.Measure("memory", "MADV_POPULATE_WRITE 1 GiB fresh (faults only)", kMemBytes, [&] {
      Anon fresh(kMemBytes, false);
      return Times{Timed([&] { MadvisePages(fresh.data(), kMemBytes, MADV_POPULATE_WRITE); })};
    });
    bench.Measure("memory", "MADV_POPULATE_WRITE 1 GiB fresh, MADV_HUGEPAGE", kMemBytes, [&] {
      Anon fresh(kMemBytes, true);
      return Times{Timed([&] { MadvisePages(fresh.data(), kMemBytes, MADV_POPULATE_WRITE); })};
    });
  }

  // The checkpoint's files, without modelhub: whole files, in `file_bytes`.
  {
    const auto pread_into = [&](char* dst, size_t chunk) {
      for (const std::string& path : checkpoint.files) {
        Fd fd(path);
        const size_t size = fd.size();
        PreadAll(fd.get(), dst, size, chunk);
        dst += size;
      }
    };
    {
      Anon dst(file_bytes, false);
      dst.Touch();
      for (size_t chunk : {size_t{1} << 20, kChunk, size_t{256} << 20}) {
        bench.Measure(
            "files", "pread " + std::to_string(chunk >> 20) + " MiB chunks -> prefaulted dst",
            file_bytes, [&] { return Times{Timed([&] { pread_into(dst.data(), chunk); })}; });
      }
      bench.Measure("files", "mmap (fresh faults) + memcpy -> prefaulted dst", file_bytes, [&] {
        return Times{Timed([&] {
          char* out = dst.data();
          for (const std::string& path : checkpoint.files) {
            FileMap map(path, 0);
            std::memcpy(out, map.data(), map.size());
            out += map.size();
          }
        })};
      });
      bench.Measure("files", "mmap MAP_POPULATE + memcpy -> prefaulted dst", file_bytes, [&] {
        return Times{Timed([&] {
          char* out = dst.data();
          for (const std::string& path : checkpoint.files) {
            FileMap map(path, MAP_POPULATE);
            std::memcpy(out, map.data(), map.size());
            out += map.size();
          }
        })};
      });
    }
    bench.Measure("files", "pread 16 MiB chunks -> fresh dst (4 KiB faults)", file_bytes, [&] {
      Anon dst(file_bytes, false);
      return Times{Timed([&] { pread_into(dst.data(), kChunk); })};
    });
    bench.Measure("files", "pread 16 MiB chunks -> fresh dst, MADV_HUGEPAGE", file_bytes, [&] {
      Anon dst(file_bytes, true);
      return Times{Timed([&] { pread_into(dst.data(), kChunk); })};
    });
    bench.Measure("files", "mmap MAP_POPULATE + read 1 byte per page (zero-copy)", file_bytes, [&] {
      std::vector<std::unique_ptr<FileMap>> maps;
      const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
      volatile char sink = 0;
      const double seconds = Timed([&] {
        for (const std::string& path : checkpoint.files) {
          maps.push_back(std::make_unique<FileMap>(path, MAP_POPULATE));
          const char* data = maps.back()->data();
          char sum = 0;
          for (size_t at = 0; at < maps.back()->size(); at += page) sum ^= data[at];
          sink = sink ^ sum;
        }
      });
      return Times(seconds, -1, "RSS: shared page cache pages");
    });
  }

  // modelhub's loader.
  const auto load = [&](bool mmap, const std::string& path) {
    LoadOptions options;
    options.mmap = mmap;
    options.progress = false;
    LoadStats stats;
    std::shared_ptr<DecoderModel> model;
    const double seconds = Timed(
        [&] { model = LoadCheckpoint(family, *config, path, ModelPlacement{}, options, &stats); });
    if (stats.bytes != model_bytes) {
      throw std::runtime_error("LoadCheckpoint read " + std::to_string(stats.bytes) +
                               " bytes, expected " + std::to_string(model_bytes));
    }
    return Times{seconds, stats.seconds, "format " + stats.format};
  };
  const Row pread_row = bench.Measure(
      "modelhub", "LoadCheckpoint pread (wall time of the call)", model_bytes,
      [&] { return load(false, dir); }, /*all_reps=*/true);
  const Row mmap_row = bench.Measure(
      "modelhub", "LoadCheckpoint mmap (wall time of the call)", model_bytes,
      [&] { return load(true, dir); }, /*all_reps=*/true);
  // The loads the summary and RESULT lines report.
  std::vector<std::pair<std::string, Row>> results = {
      {"modelhub LoadCheckpoint pread", pread_row},
      {"modelhub LoadCheckpoint mmap", mmap_row},
  };
  if (!flags.torch_file.empty()) {
    results.emplace_back("modelhub LoadCheckpoint torch.save file, pread",
                         bench.Measure(
                             "modelhub", "LoadCheckpoint of the torch.save copy, pread",
                             model_bytes, [&] { return load(false, flags.torch_file); },
                             /*all_reps=*/true));
  }

  // Prototypes of changes to LoadCheckpoint's loop.
  if (flags.prototypes) {
    const auto proto = [&](const std::string& name, Dst dst, Src src) {
      return bench.Measure("prototype", name, model_bytes,
                           [&] { return PrototypeLoad(family, *config, checkpoint, dst, src); });
    };
    proto("pread, MADV_POPULATE_WRITE per tensor first", Dst::kPopulate, Src::kPread);
    proto("pread, params touched before the timer", Dst::kTouched, Src::kPread);
    proto("pread, one MADV_HUGEPAGE arena for all params", Dst::kArena, Src::kPread);
    results.emplace_back(
        "prototype: pread, populated huge arena",
        proto("pread, arena + MADV_POPULATE_WRITE of it first", Dst::kArenaPopulate, Src::kPread));
    proto("pread, arena + a write per page of it first", Dst::kArenaTouch, Src::kPread);
    proto("pread, arena populated 64 MiB ahead by a 2nd thread", Dst::kArenaPopulateAhead,
          Src::kPread);
    proto("mmap + MADV_DONTNEED after each tensor", Dst::kAsIs, Src::kMmapDontneed);
    results.emplace_back(
        "prototype: zero-copy file maps",
        bench.Measure("prototype", "zero-copy: params are views of private file maps", model_bytes,
                      [&] { return ZeroCopyLoad(family, *config, checkpoint); }));
  }

  // Summary.
  const double memcpy_gbps = bench.memcpy_gbps();
  std::printf(
      "\nsummary (memcpy one thread, %s, %.3f GB of float32 tensors, from the page cache):\n",
      flags.arch.c_str(), model_bytes / kGB);
  std::printf("  memcpy: %.2f GB/s\n", memcpy_gbps);
  for (const auto& [label, row] : results) {
    const double ratio = row.BestGbps() / memcpy_gbps;
    const double peak = static_cast<double>(row.peak) / static_cast<double>(model_bytes);
    std::printf(
        "  %s: %.2f GB/s = %.3fx memcpy (target >= 0.8x: %s); peak RSS growth %.3fx model bytes "
        "(target <= 1.1x: %s)\n",
        label.c_str(), row.BestGbps(), ratio, ratio >= 0.8 ? "met" : "MISSED", peak,
        peak <= 1.1 ? "met" : "MISSED");
  }
  std::printf("RESULT\tmemcpy 1 thread\t%.3f\t-\n", memcpy_gbps);
  for (const auto& [label, row] : results) {
    std::printf("RESULT\t%s\t%.3f\t%.3f\n", label.c_str(), row.BestGbps(),
                static_cast<double>(row.peak) / static_cast<double>(model_bytes));
  }
  std::fflush(stdout);

  if (!flags.keep) {
    for (const std::string& path : checkpoint.files) fs::remove(path);
    fs::remove(fs::path(dir) / "model.safetensors.index.json");
    if (own_dir) fs::remove_all(dir);
  } else {
    std::printf("kept %s\n", dir.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace modelhub

int main(int argc, char** argv) {
  const modelhub::Flags flags = modelhub::ParseFlags(argc, argv);
  try {
    return modelhub::Run(flags);
  } catch (const std::exception& e) {
    std::cerr << "load_bench: " << e.what() << "\n";
    return 1;
  }
}
