#ifndef MODELHUB_RUNTIME_CHECKPOINT_PICKLE_H_
#define MODELHUB_RUNTIME_CHECKPOINT_PICKLE_H_

// A restricted reader of Python pickles that never executes anything and
// reads exactly the opcodes torch.load(weights_only=True) reads (PyTorch's
// torch/_weights_only_unpickler.py): those torch.save's protocol 2 writes.
// It knows nothing about torch: it turns the plain opcodes into a tree of
// values (None, bool, int, float, str, list, tuple, dict, set) and hands
// every opcode that would import or call Python code (GLOBAL, REDUCE, NEWOBJ,
// BUILD, BINPERSID) to a PickleHooks object, which returns a value standing
// for the result or refuses. Every other opcode (those of protocols 0 and 1
// and of protocols 3 to 5: FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE,
// the BYTES opcodes, LONG4, ADDITEMS, FROZENSET, POP, DUP, LIST, DICT, ...)
// is refused, as PyTorch refuses it ("Unsupported operand").
//
// Values may be shared through the memo and may even form cycles (a list that
// contains itself), so they live in an arena that owns them all and point at
// each other with plain pointers. Reading never recurses; code that walks the
// tree must bound its depth or track what it has seen. Limits on the number of
// values (the memo included), container slots, stack entries and marks keep a
// hostile pickle from exhausting memory; an int has at most 255 bytes (LONG1,
// the only long form PyTorch reads).

#include <any>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelhub {

// One value of a pickle's value tree. Which fields hold it depends on `kind`;
// the others stay empty. Containers point at values owned by the same
// PickleArena (never null).
struct PickleValue {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    // An int that does not fit in 64 bits: `text` holds it in decimal
    // ("-1180591620717411303424"); `integer` stays 0.
    kBigInt,
    kFloat,
    kStr,
    kBytes,
    kList,
    kTuple,
    kDict,
    kSet,
    // A value made by a PickleHooks object: `text` names its type (for
    // messages), `object` holds whatever the hooks keep about it.
    kObject,
  };

  Kind kind = Kind::kNone;
  // The byte of the pickle where the opcode that made this value starts.
  uint64_t offset = 0;
  bool boolean = false;  // kBool
  int64_t integer = 0;   // kInt
  double real = 0;       // kFloat
  // kStr (UTF-8), kBytes, kBigInt (decimal), kObject (its type, for messages)
  std::string text;
  std::vector<PickleValue*> items;                             // kList, kTuple, kSet
  std::vector<std::pair<PickleValue*, PickleValue*>> entries;  // kDict, in insertion order
  std::any object;                                             // kObject
  // For a dict or bytes that PickleHooks made as an instance of a subclass or
  // sibling of the builtin type ("collections.OrderedDict",
  // "collections.Counter", "builtins.bytearray"): its class. Empty for the
  // builtin types.
  std::string python_class;

  bool is(Kind k) const { return kind == k; }
};

// The name Python gives values of `kind` ("int", "dict", "NoneType" is "None";
// kBigInt is "int").
std::string_view PickleKindName(PickleValue::Kind kind);

// A one-line description of `value` that never looks more than one level
// deep: "None", "bool true", "int 1000" (big ints in full), "float 0.5"
// (FormatPickleFloat), "str 'abc'" (long strings cut), "bytes of 12", "list
// of 2", "tuple of 3", "dict of 3", "set of 4" (the last part of python_class
// instead of the kind where it is set: "OrderedDict of 3", "bytearray of 2"),
// and for objects their type (`text`).
std::string DescribePickleValue(const PickleValue& value);

// `value` as Python's repr spells it: the shortest digits that read back as
// the same double ("0.001", "1.0", "1e-05", "1.5e+16", "inf", "nan").
std::string FormatPickleFloat(double value);

// The value under the str key `key` in the dict `dict` (the last one when the
// key was set twice), or null when it has none or `dict` is not a dict.
PickleValue* FindPickleDictValue(const PickleValue& dict, std::string_view key);

// Thrown by PickleHooks (and by PickleArena when a limit is reached) to refuse
// the pickle. Unpickle rethrows it as CorruptModelCheckpointError(path,
// "<what> byte N: <message>"), N being where the current opcode starts.
class PickleRefusal : public std::runtime_error {
 public:
  explicit PickleRefusal(const std::string& message) : std::runtime_error(message) {}
};

// Bounds on what one pickle may create, so that a hostile pickle cannot
// exhaust memory. The defaults are far above what any checkpoint needs (a
// state dict costs about 20 values per tensor).
struct PickleLimits {
  // Values made, hooks' values included (about 180 bytes each); also bounds
  // the entries of the memo.
  uint64_t max_values = uint64_t{1} << 23;
  // Slots of lists, tuples, sets and dicts, summed over all of them.
  uint64_t max_container_items = uint64_t{1} << 26;
  // Entries on the stack, over all marks.
  uint64_t max_stack = uint64_t{1} << 20;
  // Marks open at once.
  uint64_t max_marks = uint64_t{1} << 16;
};

// Owns every value of one pickle. Values never move once made, so pointers to
// them stay valid as long as the arena lives. Not thread-safe.
class PickleArena {
 public:
  explicit PickleArena(const PickleLimits& limits = {}) : limits_(limits) {}
  PickleArena(const PickleArena&) = delete;
  PickleArena& operator=(const PickleArena&) = delete;

  // A new value of kind `kind` made by the opcode at byte `offset`, all its
  // fields empty. Throws PickleRefusal past PickleLimits::max_values.
  PickleValue* New(PickleValue::Kind kind, uint64_t offset);
  // A new int, str or object value (`type` names the object's type).
  PickleValue* NewInt(int64_t value, uint64_t offset);
  PickleValue* NewStr(std::string text, uint64_t offset);
  PickleValue* NewObject(std::string type, std::any object, uint64_t offset);

  // Accounts for `count` more container slots about to be added to values of
  // this arena. Throws PickleRefusal past PickleLimits::max_container_items.
  void ChargeItems(uint64_t count);

  // The number of values made so far.
  size_t size() const { return values_.size(); }
  const PickleLimits& limits() const { return limits_; }

 private:
  PickleLimits limits_;
  std::deque<PickleValue> values_;  // a deque never moves its elements
  uint64_t items_ = 0;
};

// What a pickle's reader asks about the opcodes that would run Python code.
// Each call may return any value of `arena` (usually a new kObject value
// stamped with `offset`, the byte where the opcode starts) or throw
// PickleRefusal; nothing is ever executed. The default of each refuses.
class PickleHooks {
 public:
  virtual ~PickleHooks() = default;

  // GLOBAL `module`.`name`. Python 2 names arrive as Python 3's, as PyTorch
  // maps them (`__builtin__.unicode` as `builtins.str`, `copy_reg` as
  // `copyreg`, ...).
  virtual PickleValue* ResolveGlobal(PickleArena& arena, const std::string& module,
                                     const std::string& name, uint64_t offset);
  // REDUCE: `callable(*args)`; `args` is a tuple.
  virtual PickleValue* Reduce(PickleArena& arena, PickleValue* callable, PickleValue* args,
                              uint64_t offset);
  // NEWOBJ: `cls.__new__(cls, *args)`; `args` is a tuple.
  virtual PickleValue* NewObject(PickleArena& arena, PickleValue* cls, PickleValue* args,
                                 uint64_t offset);
  // BUILD: `instance.__setstate__(state)`. Returns the value that replaces
  // `instance` on the stack (usually `instance` itself).
  virtual PickleValue* Build(PickleArena& arena, PickleValue* instance, PickleValue* state,
                             uint64_t offset);
  // BINPERSID: the object with persistent id `pid`.
  virtual PickleValue* PersistentLoad(PickleArena& arena, PickleValue* pid, uint64_t offset);
};

// The values of one pickle and the one it stands for.
class PickleDocument {
 public:
  PickleDocument(std::unique_ptr<PickleArena> arena, PickleValue* root)
      : arena_(std::move(arena)), root_(root) {}

  // The pickled value (what STOP returned).
  const PickleValue& root() const { return *root_; }
  PickleValue* mutable_root() { return root_; }
  // The arena that owns every value.
  const PickleArena& arena() const { return *arena_; }

 private:
  std::unique_ptr<PickleArena> arena_;
  PickleValue* root_;
};

// Reads the pickle `data` up to its STOP opcode, asking `hooks` about globals,
// calls and persistent ids, as torch.load(weights_only=True) reads it: STOP
// returns the value on top of the stack (values under it, open MARKs and
// bytes after STOP are ignored), PROTO may name any protocol, SHORT_BINSTRING
// is decoded as strict UTF-8 and BINUNICODE lets encoded surrogates through.
// Protocol 2 names (`__builtin__`, `copy_reg`) reach the hooks as Python 3's.
// Throws CorruptModelCheckpointError(path, "<what> byte N: ...") naming the
// opcode and where it starts for anything refused or malformed: an opcode
// outside PyTorch's set (naming it, "Unsupported operand N" as PyTorch says),
// truncated data, stack underflow, a missing MARK, an unset memo index, a str
// that is not UTF-8, a container opcode applied to the wrong kind of value,
// a limit of `limits` reached, and whatever `hooks` refuse.
PickleDocument Unpickle(std::string_view data, PickleHooks& hooks, const std::string& path,
                        std::string_view what = "data.pkl", const PickleLimits& limits = {});

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_PICKLE_H_
