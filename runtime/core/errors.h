#ifndef MODELHUB_RUNTIME_CORE_ERRORS_H_
#define MODELHUB_RUNTIME_CORE_ERRORS_H_

// The one error model of modelhub's public API: exceptions derived from
// modelhub::Error, named and shaped after fairseq2's, each carrying the fields a
// caller needs to act on it. LibTorch's c10::Error is caught at the API boundary
// and rethrown as one of these with context.

#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/core/source_mark.h"

namespace modelhub {

// Base of every error modelhub throws on purpose. what() is one line.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// No model family named `name` is registered; `known` are the families linked
// into the program.
class ModelFamilyNotKnownError : public Error {
 public:
  ModelFamilyNotKnownError(std::string name, const std::vector<std::string>& known);
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Family `family` has no architecture preset named `arch`. The message names the
// closest known architectures.
class ModelArchitectureNotKnownError : public Error {
 public:
  ModelArchitectureNotKnownError(std::string arch, std::string family,
                                 const std::vector<std::string>& known);
  const std::string& arch() const { return arch_; }
  const std::string& family() const { return family_; }

 private:
  std::string arch_;
  std::string family_;
};

// No asset card is named `name`. `hint`, when not empty, is added to the
// message (say, that the program found no built-in cards).
class ModelNotKnownError : public Error {
 public:
  explicit ModelNotKnownError(std::string name, const std::string& hint = "");
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// The card `name` has no public checkpoint; `url` says where to request access.
class ModelGatedError : public Error {
 public:
  ModelGatedError(std::string name, std::string url);
  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }

 private:
  std::string name_;
  std::string url_;
};

// The asset card `name` is malformed or does not fit its use; `message` says how
// (and where: file and line).
class AssetCardError : public Error {
 public:
  AssetCardError(std::string name, const std::string& message);
  const std::string& name() const { return name_; }
  // What is wrong and where, without the card's name.
  const std::string& reason() const { return reason_; }

 private:
  std::string name_;
  std::string reason_;
};

// An asset (a card, or a file it refers to) named `name` does not exist.
class AssetNotFoundError : public Error {
 public:
  explicit AssetNotFoundError(std::string name);
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Downloading `uri` failed for the reason `why`.
class AssetDownloadError : public Error {
 public:
  AssetDownloadError(std::string uri, const std::string& why);
  const std::string& uri() const { return uri_; }

 private:
  std::string uri_;
};

// The card repository `repo` ("owner/repo:ref" or a folder) cannot serve
// cards: a malformed name, a ref GitHub does not have, no card folder or a bad
// hubconf.yaml (`message` says which, and where).
class CardRepositoryError : public Error {
 public:
  CardRepositoryError(std::string repo, const std::string& message);
  const std::string& repo() const { return repo_; }

 private:
  std::string repo_;
};

// The card repository `repo` is not trusted to say where checkpoints come
// from: it is not in the hub folder's trusted_list and nobody said yes.
class UntrustedRepositoryError : public CardRepositoryError {
 public:
  using CardRepositoryError::CardRepositoryError;
};

// The checkpoint at `path` cannot be loaded: missing, unexpected or misshaped
// tensors, or bytes that do not match their format (`message` says which).
class CorruptModelCheckpointError : public Error {
 public:
  CorruptModelCheckpointError(std::string path, std::string message);
  const std::string& path() const { return path_; }
  // What is wrong, without the path.
  const std::string& reason() const { return reason_; }

 private:
  std::string path_;
  std::string reason_;
};

// A model cannot be saved as a checkpoint at `path`: the destination is taken,
// the model or its config has no form in the checkpoint format, or writing
// failed (`message` says which). Nothing is left at `path` then.
class CheckpointSaveError : public Error {
 public:
  CheckpointSaveError(std::string path, const std::string& message);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A model configuration is not valid: a value of the wrong type, an unknown
// field, a broken constraint. `field` is the dotted path to the field
// ("rope_scale.factor"), `mark` where it came from when read from text.
class ConfigError : public Error {
 public:
  ConfigError(std::string config, std::string field, SourceMark mark, std::string reason);
  const std::string& config() const { return config_; }
  const std::string& field() const { return field_; }
  const SourceMark& mark() const { return mark_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string config_;
  std::string field_;
  SourceMark mark_;
  std::string reason_;
};

// Inputs given to a model do not fit it (token id outside the vocabulary,
// sequence longer than max_seq_len, wrong shape or dtype).
class InvalidModelInputError : public Error {
 public:
  explicit InvalidModelInputError(const std::string& message) : Error(message) {}
};

// Wraps an exception thrown by LibTorch with what modelhub was doing at the time.
class TorchError : public Error {
 public:
  TorchError(const std::string& context, const std::string& torch_message);
};

// A gang of processes (fairseq2's GangError) cannot form or lost a member: a
// launcher variable missing or invalid, a store that cannot be reached or
// hosted, a rank that died or did not answer within the timeout, ranks that
// disagree. `rank` is the rank the message is about (-1 when none is), and the
// message names it.
class GangError : public Error {
 public:
  GangError(const std::string& message, int rank = -1) : Error(message), rank_(rank) {}
  int rank() const { return rank_; }

 private:
  int rank_;
};

// A tokenizer file cannot be loaded: unreadable, not in a known format, or
// holding something modelhub does not implement. `path` is the file, `where`
// the place inside it (a JSON path such as "pre_tokenizer.pretokenizers[0].type",
// or "line 12"; empty when it is the whole file) and `reason` what is wrong.
class TokenizerLoadError : public Error {
 public:
  TokenizerLoadError(std::string path, std::string where, const std::string& reason);
  const std::string& path() const { return path_; }
  const std::string& where() const { return where_; }

 private:
  std::string path_;
  std::string where_;
};

// No asset card is named `name` (fairseq2's TokenizerNotKnownError). `hint`,
// when not empty, is added to the message (the closest card names).
class TokenizerNotKnownError : public Error {
 public:
  explicit TokenizerNotKnownError(std::string name, const std::string& hint = "");
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// The card `name` names no tokenizer (no `tokenizer` field along its base
// chain); `url` says where to request access.
class TokenizerGatedError : public Error {
 public:
  TokenizerGatedError(std::string name, std::string url);
  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }

 private:
  std::string name_;
  std::string url_;
};

// No tokenizer family named `name` is known; `known` are those there are.
class TokenizerFamilyNotKnownError : public Error {
 public:
  TokenizerFamilyNotKnownError(std::string name, const std::vector<std::string>& known);
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Input a tokenizer cannot take: text that is not UTF-8 (the byte offset of the
// first bad byte is in the message) or a token id outside its vocabulary.
class InvalidTokenizerInputError : public Error {
 public:
  explicit InvalidTokenizerInputError(const std::string& message) : Error(message) {}
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CORE_ERRORS_H_
