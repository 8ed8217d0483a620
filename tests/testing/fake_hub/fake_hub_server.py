#!/usr/bin/python3
"""A loopback fake of the Hugging Face Hub, of GitHub and of a plain HTTP file server, for tests.

Standard library only. Serves on 127.0.0.1 (HTTP/1.1, keep-alive, one thread per
connection) and prints "PORT <n>" on stdout once it listens. Exits on SIGTERM.

  fake_hub_server.py [--repos DIR] [--files DIR] [--github DIR] [--token TOKEN]
                     [--faults FILE] [--log FILE] [--port N] [--exit-with-parent]

Routes (header names as huggingface.co and github.com send them):
  GET  /api/models/<org>/<name>[/revision/<rev>]   JSON {"id", "sha", "siblings": [...]}
  HEAD/GET /<org>/<name>/resolve/<rev>/<path>       regular file: 200 + body; LFS file: 302
                                                    to http://localhost:<port>/cdn/<sha256>
  HEAD/GET /cdn/<sha256>                            an LFS file's bytes (never asks for a token)
  HEAD/GET /files/<path>                            a file from --files DIR
  HEAD/GET /<owner>/<repo>/tree/<branch>[/]         github.com: 200 (small HTML) when the branch
                                                    exists, else 404 (torch.hub's main/master
                                                    probe)
  HEAD/GET /<owner>/<repo>/zipball/<ref>            github.com: 302 to http://localhost:<port>
                                                    /codeload/<owner>/<repo>/legacy.zip/<ref>
  HEAD/GET /codeload/<owner>/<repo>/legacy.zip/<ref>  codeload.github.com: the zipball (below)
  HEAD/GET /ghapi/repos/<owner>/<repo>/branches?per_page=N&page=P
  HEAD/GET /ghapi/repos/<owner>/<repo>/tags?per_page=N&page=P
                                                    api.github.com (a client's API base URL is
                                                    <endpoint>/ghapi): JSON [{"name", "commit":
                                                    {"sha", "url"}}, ...] sorted by name; per_page
                                                    30 by default, at most 100; page from 1; a
                                                    page past the end is []; bad numbers: 422
  GET  /_fake_hub/quiesce[?timeout=S]               control route, neither logged nor faulted:
                                                    answers once no other request is in flight
                                                    (so that their log lines are written)

A repo is DIR/<org>/<name>/...; its commit id is the sha1 over its sorted
"<relative path>\\0<sha256>\\n" lines. Revisions are "main" or the commit id. LFS files are
those named *.safetensors, *.bin, *.pt, *.pth, *.tar, *.gz, *.zip or of 10 MiB and more.
Bodies accept "Range: bytes=N-", "bytes=N-M" and "bytes=-N", with If-Range against the ETag.
Errors are JSON {"error": ...} with X-Error-Message, and X-Error-Code RepoNotFound,
RevisionNotFound or EntryNotFound (404). With --token, the api and resolve routes answer 401
without "Authorization: Bearer TOKEN" and 403 with another token.

--github DIR holds DIR/<owner>/<repo>/heads/<branch>/<files...> (branches) and
DIR/<owner>/<repo>/tags/<tag>/<files...> (tags); branch and tag names are single path
segments. A ref's commit id follows the repo rule above, over the files of its folder. The
folders are re-read on every request. A <ref> is a branch or tag name, refs/heads/<branch>,
refs/tags/<tag>, or a prefix (7 to 40 hex digits) of a ref's commit id. A name that is both a
branch and a tag answers 300 (Multiple Choices); the refs/... forms choose. An unknown repo or
ref answers 404 JSON {"message": ...}. The zipball is deflated, with fixed timestamps and
sorted entries (the same tree gives the same bytes): a directory entry
<owner>-<repo>-<commit[:7]>/ first, then every folder (as <top>/<dir>/) and file of the ref
under it, with the commit id as the archive comment; Content-Disposition: attachment;
filename=<owner>-<repo>-<commit[:7]>.zip, ETag "<sha256 of the zip>", Range as above.
No GitHub route asks for a token (the log shows which requests carried one).

--faults FILE is JSON {"faults": [{"match": "<path substring>", "method": "GET"|"HEAD",
"times": n (1; -1 = always), "kind": ..., "delay_seconds": s}, ...]}, re-read when the file
changes (its inode, mtime, size or text; this also restarts the counts). A missing file means
no faults. The first fault whose match is in the request path (query included) and that has
uses left applies to the request. Kinds:
  status        "status": code     that status, a short JSON body, X-Error-Message: injected
  drop          "after_bytes": n (0)   normal headers, then the connection closes after n body
                                   bytes (a response with no body is not sent at all)
  corrupt       "offset": i        byte i of the file (default: size // 2) goes out XOR 0xFF
  ignore_range                     Range and If-Range are ignored: 200 with the whole file
  slow          "bytes_per_second": n   the body is paced to about n bytes per second
  stall         "after_bytes": n, "seconds": s   n body bytes, a pause, then the rest
"delay_seconds" (any kind) waits before the headers. Pauses end early when the client hangs up.

--log FILE gets one JSON line per request once its response is done: seq, method, path,
host, range, if_range, authorization (header values or null), status, bytes_sent (body bytes
written) and fault (the kind applied or null). Lines are written when responses end, so
concurrent requests (a redirect and the request that follows it, on another connection) may
be written in either order; "seq" (0, 1, 2, ...) is the order in which the requests arrived,
taken under a lock before anything is answered, and is what readers sort by.
"""

import argparse
import hashlib
import http.server
import io
import json
import os
import re
import select
import signal
import socket
import sys
import threading
import time
import urllib.parse
import zipfile

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".tar", ".gz", ".zip")
LFS_MIN_SIZE = 10 * 1024 * 1024
HASH_CHUNK = 8 * 1024 * 1024
SENDFILE_CHUNK = 64 * 1024 * 1024
QUIESCE_PATH = "/_fake_hub/quiesce"
FAULT_KINDS = ("status", "drop", "corrupt", "ignore_range", "slow", "stall")
GITHUB_REF_KINDS = ("heads", "tags")  # DIR/<owner>/<repo>/<kind>/<name>/...
GITHUB_PER_PAGE = 30
GITHUB_MAX_PER_PAGE = 100
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


class ClientGone(Exception):
    """The client closed the connection while we were sending or pausing."""


class DroppedOnPurpose(Exception):
    """A "drop" fault closed the connection."""


def is_lfs(relative_path, size):
    """Whether huggingface.co would store this file in LFS (and redirect to its CDN)."""
    return relative_path.endswith(LFS_SUFFIXES) or size >= LFS_MIN_SIZE


class Digests:
    """sha256 and git blob sha1 of files, each computed once per (path, inode, mtime, size)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values = {}  # (path, algo) -> (stat key, hex)
        self._key_locks = {}  # (path, algo) -> lock held while hashing
        self.path_by_sha256 = {}  # every sha256 computed -> the path it came from

    def sha256(self, path, st):
        return self._get(path, st, "sha256")

    def git_sha1(self, path, st):
        return self._get(path, st, "git_sha1")

    def _get(self, path, st, algo):
        stat_key = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._values.get((path, algo))
            if cached is not None and cached[0] == stat_key:
                return cached[1]
            key_lock = self._key_locks.setdefault((path, algo), threading.Lock())
        with key_lock:
            with self._lock:
                cached = self._values.get((path, algo))
                if cached is not None and cached[0] == stat_key:
                    return cached[1]
            value = self._hash(path, st.st_size, algo)
            with self._lock:
                self._values[(path, algo)] = (stat_key, value)
                if algo == "sha256":
                    self.path_by_sha256[value] = path
            return value

    @staticmethod
    def _hash(path, size, algo):
        if algo == "sha256":
            digest = hashlib.sha256()
        else:
            digest = hashlib.sha1(b"blob %d\0" % size)
        buffer = bytearray(HASH_CHUNK)
        view = memoryview(buffer)
        with open(path, "rb") as f:
            while True:
                n = f.readinto(buffer)
                if not n:
                    break
                digest.update(view[:n])
        return digest.hexdigest()


class Faults:
    """The fault list from --faults, re-read when the file changes, with per-fault counts."""

    def __init__(self, path):
        self._path = path
        self._lock = threading.Lock()
        self._signature = None
        self._faults = []  # [fault dict, uses left (-1 = unlimited)]

    def take(self, method, path):
        """The fault that applies to this request (its use counted), or None."""
        if self._path is None:
            return None
        with self._lock:
            self._reload()
            for entry in self._faults:
                fault, left = entry
                if left == 0 or fault.get("match", "\0") not in path:
                    continue
                if fault.get("method") not in (None, method):
                    continue
                if left > 0:
                    entry[1] = left - 1
                return fault
        return None

    def _reload(self):
        # The text is compared too: a rewrite within one timestamp tick still counts.
        try:
            with open(self._path, "rb") as f:
                st = os.fstat(f.fileno())
                text = f.read()
            signature = (st.st_ino, st.st_mtime_ns, st.st_size, text)
        except FileNotFoundError:
            signature = None
        if signature == self._signature:
            return
        self._signature = signature
        self._faults = []
        if signature is None:
            return
        try:
            faults = json.loads(text)["faults"]
        except (ValueError, KeyError, TypeError) as error:
            print("fake_hub: ignoring faults file %s: %s" % (self._path, error), file=sys.stderr)
            return
        for fault in faults:
            if not isinstance(fault, dict) or "match" not in fault or "kind" not in fault:
                print("fake_hub: ignoring fault %r: no match or kind" % (fault,), file=sys.stderr)
                continue
            if fault["kind"] not in FAULT_KINDS:
                print("fake_hub: ignoring fault %r: unknown kind" % (fault,), file=sys.stderr)
                continue
            self._faults.append([fault, int(fault.get("times", 1))])


class Log:
    """Appends one JSON line per request to --log, each with a single write(2)."""

    def __init__(self, path):
        self._fd = None
        if path is not None:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, record):
        if self._fd is not None:
            os.write(self._fd, (json.dumps(record) + "\n").encode())


class InFlight:
    """Counts requests between their start and their log line; waits for none. Entering
    numbers the request: `seq` is the number of requests that entered before it."""

    def __init__(self):
        self._condition = threading.Condition()
        self._count = 0
        self._next_seq = 0

    def __enter__(self):
        with self._condition:
            self._count += 1
            seq = self._next_seq
            self._next_seq += 1
            return seq

    def __exit__(self, *unused):
        with self._condition:
            self._count -= 1
            self._condition.notify_all()

    def wait_idle(self, timeout):
        with self._condition:
            return self._condition.wait_for(lambda: self._count == 0, timeout)


class FileSpan:
    """`length` bytes from `offset` of the file at `path`, or of `data` (bytes) when given."""

    def __init__(self, path, offset, length, data=None):
        self.path = path
        self.offset = offset
        self.length = length
        self.data = data


def list_files(folder):
    """(files, dirs) under `folder`, .git left out: files as sorted (relative path, full path,
    stat) tuples, dirs as sorted relative paths; relative paths use "/"."""
    files = []
    dirs_found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != ".git"]
        for dir_name in dirs:
            full = os.path.join(root, dir_name)
            dirs_found.append(os.path.relpath(full, folder).replace(os.sep, "/"))
        for file_name in names:
            full = os.path.join(root, file_name)
            if not os.path.isfile(full):
                continue
            st = os.stat(full)
            relative = os.path.relpath(full, folder).replace(os.sep, "/")
            files.append((relative, full, st))
    files.sort()
    dirs_found.sort()
    return files, dirs_found


def commit_of(files, digests):
    """The commit id of a file list from list_files: sha1 over "<path>\0<sha256>\n" lines."""
    commit = hashlib.sha1()
    for relative, full, st in files:
        commit.update(("%s\0%s\n" % (relative, digests.sha256(full, st))).encode())
    return commit.hexdigest()


def build_zipball(top, files, dirs, comment):
    """A GitHub-style zipball: directory entry `top`/ first, then every folder and file under
    it in sorted order; deflated, fixed timestamps, so the same tree gives the same bytes."""
    entries = [(d + "/", None) for d in dirs] + [(f[0], f[1]) for f in files]
    entries.sort()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.comment = comment.encode()
        for name, full in [(top + "/", None)] + [(top + "/" + n, f) for n, f in entries]:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            if full is None:
                info.external_attr = (0o40755 << 16) | 0x10  # a directory (MS-DOS bit too)
                archive.writestr(info, b"", compress_type=zipfile.ZIP_STORED)
                continue
            info.external_attr = (0o100755 if os.access(full, os.X_OK) else 0o100644) << 16
            with open(full, "rb") as f:
                archive.writestr(info, f.read(), compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def parse_range(header, size):
    """(first, last) inclusive for a single-range header, "unsatisfiable", or None to ignore."""
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if match is None:
        return None
    first, last = match.groups()
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return (max(0, size - suffix), size - 1)
    first = int(first)
    if first >= size:
        return "unsatisfiable"
    last = size - 1 if last == "" else min(int(last), size - 1)
    if last < first:
        return None
    return (first, last)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "fake-hub"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def do_GET(self):
        self._handle()

    def do_HEAD(self):
        self._handle()

    # ---- per request -------------------------------------------------------------------

    def _handle(self):
        split = urllib.parse.urlsplit(self.path)
        if split.path == QUIESCE_PATH:
            self._quiesce(split.query)
            return
        server = self.server
        self._status = 0
        self._bytes_sent = 0
        self._fault = None
        with server.in_flight as seq:
            try:
                self._fault = server.faults.take(self.command, self.path)
                if self._fault is not None and self._fault["kind"] == "status":
                    code = int(self._fault.get("status", 500))
                    self._error(code, "injected fault (%d)" % code, message="injected")
                else:
                    self._route(split.path, split.query)
            except (ClientGone, DroppedOnPurpose, ConnectionError, TimeoutError):
                self.close_connection = True
            finally:
                server.log.write(
                    {
                        "seq": seq,
                        "method": self.command,
                        "path": self.path,
                        "host": self.headers.get("Host"),
                        "range": self.headers.get("Range"),
                        "if_range": self.headers.get("If-Range"),
                        "authorization": self.headers.get("Authorization"),
                        "status": self._status,
                        "bytes_sent": self._bytes_sent,
                        "fault": None if self._fault is None else self._fault["kind"],
                    }
                )

    def _quiesce(self, query):
        timeout = float(urllib.parse.parse_qs(query).get("timeout", ["10"])[0])
        idle = self.server.in_flight.wait_idle(timeout)
        body = b"idle\n" if idle else b"busy\n"
        self.send_response(200 if idle else 503)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self, path, query):
        parts = urllib.parse.unquote(path).split("/")[1:]
        # GitHub's tree route alone may end in "/" (torch.hub probes .../tree/main/).
        tree_slash = len(parts) == 5 and parts[2] == "tree" and parts[4] == ""
        checked = parts[:-1] if tree_slash else parts
        if any(part in ("", ".", "..") or "\0" in part for part in checked):
            self._error(404, "path may not contain empty, . or .. segments")
        elif tree_slash:
            self._github_tree(parts[0], parts[1], parts[3])
        elif len(parts) >= 3 and parts[0] == "api" and parts[1] == "models":
            self._api(parts[2:])
        elif len(parts) >= 5 and parts[2] == "resolve":
            self._resolve(parts[0], parts[1], parts[3], "/".join(parts[4:]))
        elif len(parts) == 2 and parts[0] == "cdn":
            self._cdn(parts[1])
        elif len(parts) >= 2 and parts[0] == "files":
            self._files("/".join(parts[1:]))
        elif len(parts) == 4 and parts[2] == "tree":
            self._github_tree(parts[0], parts[1], parts[3])
        elif len(parts) >= 4 and parts[2] == "zipball":
            self._github_zipball(parts[0], parts[1], "/".join(parts[3:]))
        elif len(parts) >= 5 and parts[0] == "codeload" and parts[3] == "legacy.zip":
            self._github_codeload(parts[1], parts[2], "/".join(parts[4:]))
        elif len(parts) == 5 and parts[0] == "ghapi" and parts[1] == "repos":
            self._github_list(parts[2], parts[3], parts[4], query)
        else:
            self._error(404, "no route for %s" % path)

    # ---- the Hub -----------------------------------------------------------------------

    def _check_token(self):
        """True when the request may see repos; otherwise answers 401/403 and returns False."""
        token = self.server.token
        if token is None:
            return True
        given = self.headers.get("Authorization")
        if given is None:
            self._error(401, "Authorization header is required", code="GatedRepo")
            return False
        if given != "Bearer " + token:
            self._error(403, "Invalid credentials in Authorization header", code="GatedRepo")
            return False
        return True

    def _repo(self, org, name, revision):
        """(files, commit) of the repo at `revision`, or None after answering 404."""
        repo_dir = None
        if self.server.repos_dir is not None and org and name:
            repo_dir = os.path.join(self.server.repos_dir, org, name)
        if repo_dir is None or not os.path.isdir(repo_dir):
            self._error(404, "Repository %s/%s not found" % (org, name), code="RepoNotFound")
            return None
        files, _ = list_files(repo_dir)
        commit = commit_of(files, self.server.digests)
        if revision not in ("main", commit):
            self._error(
                404, "Invalid rev id: %s" % revision, code="RevisionNotFound", commit=None
            )
            return None
        return files, commit

    def _api(self, parts):
        # <org>/<name>  or  <org>/<name>/revision/<rev>
        if len(parts) == 2:
            org, name, revision = parts[0], parts[1], "main"
        elif len(parts) >= 4 and parts[2] == "revision":
            org, name, revision = parts[0], parts[1], "/".join(parts[3:])
        else:
            self._error(404, "no such api route")
            return
        if not self._check_token():
            return
        repo = self._repo(org, name, revision)
        if repo is None:
            return
        files, commit = repo
        digests = self.server.digests
        siblings = []
        for relative, full, st in files:
            sibling = {
                "rfilename": relative,
                "size": st.st_size,
                "blobId": digests.git_sha1(full, st),
            }
            if is_lfs(relative, st.st_size):
                sibling["lfs"] = {"sha256": digests.sha256(full, st), "size": st.st_size}
            siblings.append(sibling)
        body = json.dumps({"id": "%s/%s" % (org, name), "sha": commit, "siblings": siblings})
        self._send(
            200,
            {"Content-Type": "application/json; charset=utf-8", "X-Repo-Commit": commit},
            body.encode(),
        )

    def _resolve(self, org, name, revision, relative):
        if not self._check_token():
            return
        repo = self._repo(org, name, revision)
        if repo is None:
            return
        files, commit = repo
        entry = next((f for f in files if f[0] == relative), None)
        if entry is None:
            self._error(
                404, "Entry %s not found in %s/%s" % (relative, org, name),
                code="EntryNotFound", commit=commit,
            )
            return
        _, full, st = entry
        digests = self.server.digests
        if is_lfs(relative, st.st_size):
            sha256 = digests.sha256(full, st)
            self._send(
                302,
                {
                    "Location": "http://localhost:%d/cdn/%s" % (self.server.port, sha256),
                    "X-Repo-Commit": commit,
                    "X-Linked-Etag": '"%s"' % sha256,
                    "X-Linked-Size": str(st.st_size),
                    "ETag": '"%s"' % sha256,
                },
                b"",
            )
            return
        etag = '"%s"' % digests.git_sha1(full, st)
        self._send_file(full, st.st_size, etag, {"X-Repo-Commit": commit})

    def _cdn(self, sha256):
        digests = self.server.digests
        for attempt in range(2):
            path = digests.path_by_sha256.get(sha256)
            if path is not None:
                try:
                    st = os.stat(path)
                    if digests.sha256(path, st) == sha256:
                        self._send_file(path, st.st_size, '"%s"' % sha256, {})
                        return
                except FileNotFoundError:
                    pass
            if attempt == 0:
                self._hash_all_repos()
        self._error(404, "no LFS object %s" % sha256)

    def _hash_all_repos(self):
        if self.server.repos_dir is None:
            return
        for root, dirs, names in os.walk(self.server.repos_dir):
            dirs[:] = [d for d in dirs if d != ".git"]
            for file_name in names:
                full = os.path.join(root, file_name)
                if os.path.isfile(full):
                    self.server.digests.sha256(full, os.stat(full))

    # ---- plain files ---------------------------------------------------------------------

    def _files(self, relative):
        files_dir = self.server.files_dir
        full = None if files_dir is None else os.path.join(files_dir, relative)
        if full is None or not os.path.isfile(full):
            self._error(404, "no file %s" % relative)
            return
        st = os.stat(full)
        etag = '"%s"' % self.server.digests.sha256(full, st)
        self._send_file(full, st.st_size, etag, {})

    # ---- GitHub (as torch.hub uses it) ---------------------------------------------------

    def _github_error(self, status, message):
        self._send(
            status,
            {"Content-Type": "application/json; charset=utf-8"},
            json.dumps({"message": message}).encode(),
        )

    def _github_repo_dir(self, owner, repo):
        """DIR/<owner>/<repo> when --github has that repo, else None."""
        github_dir = self.server.github_dir
        if github_dir is None:
            return None
        repo_dir = os.path.join(github_dir, owner, repo)
        return repo_dir if os.path.isdir(repo_dir) else None

    @staticmethod
    def _github_refs(repo_dir, kind):
        """{name: folder} of the branches ("heads") or tags ("tags"), read afresh."""
        kind_dir = os.path.join(repo_dir, kind)
        try:
            names = os.listdir(kind_dir)
        except (FileNotFoundError, NotADirectoryError):
            return {}
        folders = {name: os.path.join(kind_dir, name) for name in names}
        return {name: folder for name, folder in folders.items() if os.path.isdir(folder)}

    def _github_resolve(self, owner, repo, ref):
        """(files, dirs, commit) of `ref` (a branch or tag name, refs/heads/<name>,
        refs/tags/<name> or a commit id prefix of 7+ hex digits), or None after answering
        404 (unknown) or 300 (a name that is both a branch and a tag)."""
        repo_dir = self._github_repo_dir(owner, repo)
        if repo_dir is None:
            self._github_error(404, "Not Found")
            return None
        heads = self._github_refs(repo_dir, "heads")
        tags = self._github_refs(repo_dir, "tags")
        digests = self.server.digests
        folder = None
        qualified = re.fullmatch(r"refs/(heads|tags)/([^/]+)", ref)
        if qualified is not None:
            folder = (heads if qualified.group(1) == "heads" else tags).get(qualified.group(2))
        elif ref in heads and ref in tags:
            self._github_error(
                300, "%s is both a branch and a tag: use refs/heads/%s or refs/tags/%s"
                % (ref, ref, ref),
            )
            return None
        elif ref in heads or ref in tags:
            folder = heads.get(ref) or tags.get(ref)
        elif re.fullmatch(r"[0-9a-fA-F]{7,40}", ref):
            matches = {}
            for candidate in list(heads.values()) + list(tags.values()):
                files, dirs = list_files(candidate)
                commit = commit_of(files, digests)
                if commit.startswith(ref.lower()):
                    matches[commit] = (files, dirs, commit)
            if len(matches) == 1:
                return next(iter(matches.values()))
        if folder is None:
            self._github_error(404, "No commit found for the ref %s" % ref)
            return None
        files, dirs = list_files(folder)
        return files, dirs, commit_of(files, digests)

    def _github_tree(self, owner, repo, branch):
        repo_dir = self._github_repo_dir(owner, repo)
        if repo_dir is None or branch not in self._github_refs(repo_dir, "heads"):
            self._send(404, {"Content-Type": "text/html; charset=utf-8"}, b"Not Found\n")
            return
        body = "<html><body>%s/%s at %s</body></html>\n" % (owner, repo, branch)
        self._send(200, {"Content-Type": "text/html; charset=utf-8"}, body.encode())

    def _github_zipball(self, owner, repo, ref):
        if self._github_resolve(owner, repo, ref) is None:
            return
        location = "http://localhost:%d/codeload/%s/%s/legacy.zip/%s" % (
            self.server.port, *(urllib.parse.quote(p, safe="/") for p in (owner, repo, ref)),
        )
        self._send(302, {"Location": location}, b"")

    def _github_codeload(self, owner, repo, ref):
        resolved = self._github_resolve(owner, repo, ref)
        if resolved is None:
            return
        files, dirs, commit = resolved
        top = "%s-%s-%s" % (owner, repo, commit[:7])
        data = build_zipball(top, files, dirs, commit)
        headers = {
            "Content-Type": "application/zip",
            "Content-Disposition": "attachment; filename=%s.zip" % top,
        }
        etag = '"%s"' % hashlib.sha256(data).hexdigest()
        self._send_file(None, len(data), etag, headers, data=data)

    def _github_list(self, owner, repo, what, query):
        if what not in ("branches", "tags"):
            self._github_error(404, "Not Found")
            return
        repo_dir = self._github_repo_dir(owner, repo)
        if repo_dir is None:
            self._github_error(404, "Not Found")
            return
        numbers = {}
        arguments = urllib.parse.parse_qs(query, keep_blank_values=True)
        for key, default in (("per_page", GITHUB_PER_PAGE), ("page", 1)):
            text = arguments.get(key, [str(default)])[0]
            if not re.fullmatch(r"\d{1,9}", text) or int(text) < 1:
                self._github_error(422, "Invalid %s: %r" % (key, text))
                return
            numbers[key] = int(text)
        per_page = min(numbers["per_page"], GITHUB_MAX_PER_PAGE)
        refs = self._github_refs(repo_dir, "heads" if what == "branches" else "tags")
        names = sorted(refs)[(numbers["page"] - 1) * per_page:][:per_page]
        listing = []
        for name in names:
            files, _ = list_files(refs[name])
            commit = commit_of(files, self.server.digests)
            url = "http://127.0.0.1:%d/ghapi/repos/%s/%s/commits/%s" % (
                self.server.port, owner, repo, commit,
            )
            listing.append({"name": name, "commit": {"sha": commit, "url": url}})
        self._send(
            200,
            {"Content-Type": "application/json; charset=utf-8"},
            json.dumps(listing).encode(),
        )

    # ---- responses -----------------------------------------------------------------------

    def _error(self, status, text, code=None, message=None, commit=None):
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Error-Message": message if message is not None else text,
        }
        if code is not None:
            headers["X-Error-Code"] = code
        if commit is not None:
            headers["X-Repo-Commit"] = commit
        self._send(status, headers, json.dumps({"error": text}).encode())

    def _send_file(self, path, size, etag, headers, data=None):
        """200 or 206 (or 416) with the file's bytes (or those of `data`, bytes, when given:
        `path` is then unused), following Range and If-Range."""
        headers = dict(headers)
        headers.update({"ETag": etag, "Accept-Ranges": "bytes"})
        headers.setdefault("Content-Type", "application/octet-stream")
        status, first, length = 200, 0, size
        range_header = self.headers.get("Range")
        ignore = self._fault is not None and self._fault["kind"] == "ignore_range"
        if range_header is not None and not ignore:
            if_range = self.headers.get("If-Range")
            if if_range is None or if_range == etag:
                wanted = parse_range(range_header, size)
                if wanted == "unsatisfiable":
                    headers["Content-Range"] = "bytes */%d" % size
                    self._send(416, headers, b"")
                    return
                if wanted is not None:
                    status, first, length = 206, wanted[0], wanted[1] - wanted[0] + 1
                    headers["Content-Range"] = "bytes %d-%d/%d" % (first, wanted[1], size)
        self._send(status, headers, FileSpan(path, first, length, data), file_size=size)

    def _send(self, status, headers, body, file_size=None):
        """Sends status, headers and body (bytes or FileSpan), applying the request's fault."""
        fault = self._fault or {}
        kind = fault.get("kind")
        self._status = status
        if "delay_seconds" in fault:
            self._pause(float(fault["delay_seconds"]))
        length = body.length if isinstance(body, FileSpan) else len(body)
        has_body = self.command != "HEAD" and length > 0 and status not in (204, 304)
        if kind == "drop" and not has_body:
            self._drop()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length if status not in (204, 304) else 0))
        self.end_headers()
        if not has_body:
            return
        if kind == "drop":
            self._write(body, 0, min(int(fault.get("after_bytes", 0)), length))
            self._drop()
        elif kind == "stall":
            cut = min(int(fault.get("after_bytes", 0)), length)
            self._write(body, 0, cut)
            self._pause(float(fault.get("seconds", 1)))
            self._write(body, cut, length)
        elif kind == "slow":
            self._write_paced(body, length, float(fault.get("bytes_per_second", 65536)))
        elif kind == "corrupt":
            start = body.offset if isinstance(body, FileSpan) else 0
            total = file_size if file_size is not None else length
            at = int(fault.get("offset", total // 2)) - start
            if 0 <= at < length:
                self._write(body, 0, at)
                self._send_bytes(bytes([self._byte_at(body, at) ^ 0xFF]))
                self._write(body, at + 1, length)
            else:
                self._write(body, 0, length)
        else:
            self._write(body, 0, length)

    def _drop(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise DroppedOnPurpose()

    @staticmethod
    def _byte_at(body, index):
        if isinstance(body, FileSpan) and body.data is not None:
            return body.data[body.offset + index]
        if isinstance(body, FileSpan):
            with open(body.path, "rb") as f:
                f.seek(body.offset + index)
                return f.read(1)[0]
        return body[index]

    def _send_bytes(self, data):
        view = memoryview(data)
        while view:
            try:
                n = self.connection.send(view)
            except (BrokenPipeError, ConnectionResetError) as error:
                raise ClientGone() from error
            self._bytes_sent += n
            view = view[n:]

    def _write(self, body, begin, end):
        """Sends body bytes [begin, end): os.sendfile for files, send for bytes."""
        if end <= begin:
            return
        if not isinstance(body, FileSpan):
            self._send_bytes(memoryview(body)[begin:end])
            return
        if body.data is not None:
            self._send_bytes(memoryview(body.data)[body.offset + begin:body.offset + end])
            return
        out = self.connection.fileno()
        with open(body.path, "rb") as f:
            offset, left = body.offset + begin, end - begin
            while left > 0:
                try:
                    n = os.sendfile(out, f.fileno(), offset, min(left, SENDFILE_CHUNK))
                except (BrokenPipeError, ConnectionResetError) as error:
                    raise ClientGone() from error
                if n == 0:  # the file shrank under us
                    raise ClientGone()
                self._bytes_sent += n
                offset += n
                left -= n

    def _write_paced(self, body, length, bytes_per_second):
        bytes_per_second = max(bytes_per_second, 1.0)
        chunk = int(max(1, min(64 * 1024, bytes_per_second / 20)))
        started = time.monotonic()
        done = 0
        while done < length:
            step = min(chunk, length - done)
            self._write(body, done, done + step)
            done += step
            self._pause(started + done / bytes_per_second - time.monotonic())

    def _pause(self, seconds):
        """Sleeps, but raises ClientGone as soon as the client closes the connection."""
        deadline = time.monotonic() + seconds
        sock = self.connection
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            readable, _, _ = select.select([sock], [], [], min(left, 0.05))
            if not readable:
                continue
            try:
                peeked = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except OSError as error:
                raise ClientGone() from error
            if not peeked:
                raise ClientGone()
            time.sleep(max(0.0, deadline - time.monotonic()))  # a pipelined request waits
            return


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up exit
    request_queue_size = 128

    def server_bind(self):
        # HTTPServer.server_bind would ask the resolver for a host name; not needed here.
        http.server.socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]


def exit_with_parent(parent):
    """Ends this process once `parent` is gone (this process then has another parent)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repos", help="DIR/<org>/<name>/<files> served as the Hub")
    parser.add_argument("--files", help="DIR served at /files/<relative path>")
    parser.add_argument(
        "--github", help="DIR/<owner>/<repo>/{heads,tags}/<name>/<files> served as GitHub",
    )
    parser.add_argument("--token", help="Hub routes require Authorization: Bearer TOKEN")
    parser.add_argument("--faults", help="JSON fault list, re-read when it changes")
    parser.add_argument("--log", help="append one JSON line per request here")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    parser.add_argument(
        "--exit-with-parent", action="store_true",
        help="exit when the process that started this one ends (e.g. a crashed test)",
    )
    args = parser.parse_args()
    for flag, value in (
        ("--repos", args.repos), ("--files", args.files), ("--github", args.github),
    ):
        if value is not None and not os.path.isdir(value):
            parser.error("%s %s is not a directory" % (flag, value))

    server = Server(("127.0.0.1", args.port), Handler)
    server.repos_dir = None if args.repos is None else os.path.abspath(args.repos)
    server.files_dir = None if args.files is None else os.path.abspath(args.files)
    server.github_dir = None if args.github is None else os.path.abspath(args.github)
    server.token = args.token
    server.faults = Faults(args.faults)
    server.log = Log(args.log)
    server.digests = Digests()
    server.in_flight = InFlight()
    server.port = server.server_address[1]

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    if args.exit_with_parent:
        threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write("PORT %d\n" % server.port)
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
