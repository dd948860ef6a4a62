"""Redis store: one world shared by every instance that points at the same Redis.

Same semantics as the SQLite store. Every write and its workspace-version bump run in
one Lua script or one MULTI/EXEC, so another instance that reads the version on its next
request sees the write (caches are invalidated by version counters, not by pub/sub).

Key layout. ``W``, ``T``, ``I``, ``REF``, ``K`` and ``KEY`` are the workspace, entity
type, entity id, entity ref (``user:123``), log kind and log key, with ``%`` and ``:``
percent-escaped so that no two names share a key::

    mockverse:workspaces              set     every workspace that was ever written
    mockverse:log-seq                 string  log sequence, global like SQLite's AUTOINCREMENT
    mockverse:W:version               string  bumped by every write in W
    mockverse:W:changes               zset    [version, change tags] of each write, scored by version
    mockverse:W:entity:T:I            hash    data (JSON), mode, deleted (0/1), seq
    mockverse:W:created:T             zset    ids with mode=created and not deleted, scored by seq
    mockverse:W:deleted:T             zset    tombstoned ids with mode!=created, score 0 (id order)
    mockverse:W:link-seq              string  link insertion counter
    mockverse:W:out:REF               zset    links whose parent is REF, scored by insertion
    mockverse:W:in:REF                zset    links whose child is REF, scored by insertion
    mockverse:W:counter:T             string  next_id counter (INCR)
    mockverse:W:settings              hash    key -> JSON value
    mockverse:W:log:K                 zset    seqs of kind K
    mockverse:W:log:K:keys            hash    seq -> key
    mockverse:W:log:K:values          hash    seq -> JSON value
    mockverse:W:log:K:key:KEY         zset    seqs of kind K with key KEY

A link is stored as the JSON array ``[parent, relationship, child]``. An entity's ``seq``
is the workspace version of its first write, so ``created_ids`` come in creation order.
Scripts also touch keys they compute from stored links, which standalone Redis allows
(Redis Cluster would not). Every call fails fast with ``StoreUnavailable`` when Redis is
unreachable; the client reconnects by itself on the next call.

Durability is Redis's: at start the store asks Redis whether it keeps an append-only file
(``CONFIG GET appendonly``, or ``INFO persistence`` where CONFIG is disabled) and refuses a
Redis without one, since RDB snapshots alone lose every write since the last snapshot and a
restart would also hand out ids again. ``volatile=True`` (``--redis-volatile``) skips it.
"""

from __future__ import annotations

import asyncio
import functools
import re
import weakref
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

import orjson
import redis
import redis.asyncio
import redis.asyncio.retry
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.typing import EncodableT

from mockverse.store import (
    ACTIVITY,
    EVERYTHING,
    KEEP_CHANGES,
    KEY_LINK,
    KeyClaimed,
    Read,
    StoredEntity,
    StoreOpenError,
    StoreUnavailable,
    batched,
    entity_tag,
    links_tag,
    log_tag,
    members_tag,
    setting_tags,
)

P = ParamSpec("P")
R = TypeVar("R")

STORED_INDEXED = "mockverse:stored-indexed"   # set once a Redis keeps each type's set of stored ids

_LUA_HELPERS = """
local function part(s) return (string.gsub(string.gsub(s, '%%', '%%25'), ':', '%%3A')) end
local function unlink(prefix, member)
  local l = cjson.decode(member)
  redis.call('ZREM', prefix .. 'out:' .. part(l[1]), member)
  redis.call('ZREM', prefix .. 'in:' .. part(l[3]), member)
end
local function link(prefix, seqkey, member)
  local l = cjson.decode(member)
  local out = prefix .. 'out:' .. part(l[1])
  if redis.call('ZSCORE', out, member) then return end
  local seq = redis.call('INCR', seqkey)
  redis.call('ZADD', out, seq, member)
  redis.call('ZADD', prefix .. 'in:' .. part(l[3]), seq, member)
end
local function bump(version, workspaces, name)
  redis.call('SADD', workspaces, name)
  return redis.call('INCR', version)
end
local function record(changes, version, tags, keep)
  redis.call('ZADD', changes, version, cjson.encode({version, tags}))
  redis.call('ZREMRANGEBYSCORE', changes, '-inf', version - keep)
end
local function link_tags(tags, member)
  local l = cjson.decode(member)
  table.insert(tags, 'l:' .. l[1])
  table.insert(tags, 'l:' .. l[3])
end
"""

# KEYS: version, workspaces, changes; ARGV: workspace, change tags (JSON), changes kept
_BUMP = _LUA_HELPERS + """
local version = bump(KEYS[1], KEYS[2], ARGV[1])
record(KEYS[3], version, cjson.decode(ARGV[2]), tonumber(ARGV[3]))
return version
"""

# KEYS: version, workspaces, entity, created, deleted, in:REF, link-seq, changes, stored
# ARGV: prefix, workspace, id, data, mode, change tags (JSON), changes kept, members tag, link...
# a key link (KEY_LINK) another entity holds stops it before any write: it answers {key, holder}
_PUT_ENTITY = _LUA_HELPERS + """
for i = 9, #ARGV do
  local l = cjson.decode(ARGV[i])
  if l[2] == '""" + KEY_LINK + """' then
    for _, member in ipairs(redis.call('ZRANGE', ARGV[1] .. 'out:' .. part(l[1]), 0, -1)) do
      local held = cjson.decode(member)
      if held[2] == l[2] and held[3] ~= l[3] then return {l[1], held[3]} end
    end
  end
end
local version = bump(KEYS[1], KEYS[2], ARGV[2])
redis.call('SADD', KEYS[9], ARGV[3])
local tags = cjson.decode(ARGV[6])
local seq = redis.call('HGET', KEYS[3], 'seq') or version
local old = redis.call('HMGET', KEYS[3], 'mode', 'deleted')
if ARGV[5] == 'created' or not old[1] or old[1] == 'created' or old[2] == '1' then table.insert(tags, ARGV[8]) end
redis.call('HSET', KEYS[3], 'data', ARGV[4], 'mode', ARGV[5], 'deleted', '0', 'seq', seq)
if ARGV[5] == 'created' then redis.call('ZADD', KEYS[4], seq, ARGV[3]) else redis.call('ZREM', KEYS[4], ARGV[3]) end
redis.call('ZREM', KEYS[5], ARGV[3])
local kept = {}
for i = 9, #ARGV do kept[ARGV[i]] = true end
for _, member in ipairs(redis.call('ZRANGE', KEYS[6], 0, -1)) do
  link_tags(tags, member)
  if not kept[member] then unlink(ARGV[1], member) end
end
for i = 9, #ARGV do link(ARGV[1], KEYS[7], ARGV[i]) end
record(KEYS[8], version, tags, tonumber(ARGV[7]))
return version
"""

# KEYS: version, workspaces, entity, created, deleted, in:REF, out:REF, changes, stored
# ARGV: prefix, workspace, id, mode, change tags (JSON), changes kept
_DELETE_ENTITY = _LUA_HELPERS + """
local version = bump(KEYS[1], KEYS[2], ARGV[2])
redis.call('SADD', KEYS[9], ARGV[3])
local tags = cjson.decode(ARGV[5])
local mode = redis.call('HGET', KEYS[3], 'mode')
if mode then
  redis.call('HSET', KEYS[3], 'deleted', '1')
else
  mode = ARGV[4]
  redis.call('HSET', KEYS[3], 'data', '{}', 'mode', mode, 'deleted', '1', 'seq', version)
end
redis.call('ZREM', KEYS[4], ARGV[3])
if mode ~= 'created' then redis.call('ZADD', KEYS[5], 0, ARGV[3]) end
for _, key in ipairs({KEYS[6], KEYS[7]}) do
  for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do link_tags(tags, member); unlink(ARGV[1], member) end
end
record(KEYS[8], version, tags, tonumber(ARGV[6]))
return version
"""

# KEYS: version, workspaces, log-seq, log, keys, values, key index, changes
# ARGV: workspace, key, value, change tags (JSON), changes kept
_APPEND = _LUA_HELPERS + """
record(KEYS[8], bump(KEYS[1], KEYS[2], ARGV[1]), cjson.decode(ARGV[4]), tonumber(ARGV[5]))
local seq = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[4], seq, seq)
redis.call('HSET', KEYS[5], seq, ARGV[2])
redis.call('HSET', KEYS[6], seq, ARGV[3])
redis.call('ZADD', KEYS[7], seq, seq)
return seq
"""

# KEYS: version, workspaces, values, changes; ARGV: workspace, seq, value, change tags (JSON), changes kept
_UPDATE_ENTRY = _LUA_HELPERS + """
record(KEYS[4], bump(KEYS[1], KEYS[2], ARGV[1]), cjson.decode(ARGV[4]), tonumber(ARGV[5]))
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return 1
"""

# KEYS: version, workspaces, log, keys, values, changes
# ARGV: workspace, key-index prefix, seq or '', change tags (JSON), changes kept
_DELETE_ENTRIES = _LUA_HELPERS + """
record(KEYS[6], bump(KEYS[1], KEYS[2], ARGV[1]), cjson.decode(ARGV[4]), tonumber(ARGV[5]))
local seqs = {}
if ARGV[3] == '' then
  seqs = redis.call('ZRANGE', KEYS[3], 0, -1)
elseif redis.call('HEXISTS', KEYS[5], ARGV[3]) == 1 then
  seqs = {ARGV[3]}
end
for _, seq in ipairs(seqs) do
  redis.call('ZREM', ARGV[2] .. part(redis.call('HGET', KEYS[4], seq)), seq)
  redis.call('ZREM', KEYS[3], seq)
  redis.call('HDEL', KEYS[4], seq)
  redis.call('HDEL', KEYS[5], seq)
end
return #seqs
"""

# KEYS: version, workspaces, settings, changes
# ARGV: workspace, glob of the workspace's keys, change tags (JSON), changes kept, setting kept...
_RESET = _LUA_HELPERS + """
local version = bump(KEYS[1], KEYS[2], ARGV[1])
local kept = {}
for i = 5, #ARGV do
  local value = redis.call('HGET', KEYS[3], ARGV[i])
  if value then table.insert(kept, ARGV[i]); table.insert(kept, value) end
end
for _, key in ipairs(redis.call('KEYS', ARGV[2])) do
  if key ~= KEYS[1] then redis.call('DEL', key) end
end
if #kept > 0 then redis.call('HSET', KEYS[3], unpack(kept)) end
record(KEYS[4], version, cjson.decode(ARGV[3]), tonumber(ARGV[4]))
return version
"""

# KEYS: seq index, keys, values; ARGV: start, stop, 'rev' or ''
_ENTRIES = """
local seqs
if ARGV[3] == 'rev' then
  seqs = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2])
else
  seqs = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2])
end
local out = {}
for _, seq in ipairs(seqs) do
  table.insert(out, seq)
  table.insert(out, redis.call('HGET', KEYS[2], seq))
  table.insert(out, redis.call('HGET', KEYS[3], seq))
end
return out
"""


def _shown(url: str) -> str:
    """The Redis URL with its password replaced, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":[redacted]@", 1)
    return parts._replace(netloc=netloc).geturl()


def _part(name: str) -> str:
    """Escape one key component so that names containing ``:`` cannot collide."""
    return name.replace("%", "%25").replace(":", "%3A")


def _raw(reply: object) -> Iterable[bytes]:
    """The members a collection command returned, as the bytes a client without
    ``decode_responses`` receives: redis-py types replies for both modes (and for asyncio) at once."""
    return cast("Iterable[bytes]", reply)


def _reachable(method: Callable[P, R]) -> Callable[P, R]:
    """Turn a lost or refused Redis connection into ``StoreUnavailable`` (a 503 upstream)."""
    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(f"the Redis store is unreachable: {exc}") from exc
    return call


def _writing(method: Callable[P, R]) -> Callable[P, R]:
    """Count a write of this store before and after it, so a version a request read earlier is
    not taken for the workspace's once this process may have moved it."""
    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        store = cast("RedisStore", args[0])
        store._writes += 1
        try:
            return method(*args, **kwargs)
        finally:
            store._writes += 1
    return call


class RedisStore:
    """A store in Redis, shared by every worker and instance given the same URL."""

    def __init__(self, url: str, connect_timeout: float = 0.5, timeout: float = 1.0, *, volatile: bool = False) -> None:
        self.url = url
        self._timeouts = (connect_timeout, timeout)
        self._redis = redis.Redis.from_url(
            url, socket_connect_timeout=connect_timeout, socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0), health_check_interval=0)
        self._versions = _VersionReads(self)
        self._writes = 0   # writes this process started or finished (see :meth:`version`)
        self._stored_indexed = False   # whether this Redis keeps the sets of stored ids (see :meth:`stored_ids`)
        if not volatile:
            self.check_persistence()
        self._put_entity = self._redis.register_script(_PUT_ENTITY)
        self._delete_entity = self._redis.register_script(_DELETE_ENTITY)
        self._append = self._redis.register_script(_APPEND)
        self._update_entry = self._redis.register_script(_UPDATE_ENTRY)
        self._delete_entries = self._redis.register_script(_DELETE_ENTRIES)
        self._entries = self._redis.register_script(_ENTRIES)
        self._reset = self._redis.register_script(_RESET)
        self._bump = self._redis.register_script(_BUMP)

    def check_persistence(self) -> str:
        """The AOF fsync policy of a Redis that keeps an append-only file; StoreOpenError (one line:
        why, and what to do) for one that does not, or that cannot be reached."""
        shown = _shown(self.url)
        try:
            try:
                config = self._redis.config_get("appendonly", "appendfsync")
                aof, fsync = config.get("appendonly") == "yes", str(config.get("appendfsync", "unknown"))
            except redis.ResponseError:   # CONFIG disabled (managed Redis): INFO still says
                info = self._redis.info("persistence")
                aof, fsync = info.get("aof_enabled") == 1, "unknown"
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._redis.close()
            raise StoreOpenError(f"store {shown}: Redis cannot be reached ({exc}) to check that it keeps what it "
                                 "acknowledges: start it, or pass --redis-volatile to skip the check") from None
        if not aof:
            self._redis.close()
            raise StoreOpenError(f"store {shown}: Redis does not persist writes (appendonly is off; RDB snapshots "
                                 "alone lose every write since the last one, and ids would be handed out again): "
                                 "start it with --appendonly yes (or CONFIG SET appendonly yes), or pass "
                                 "--redis-volatile to accept losing data")
        return fsync

    # -- keys -----------------------------------------------------------------------------
    @staticmethod
    def _key(workspace: str, *parts: str) -> str:
        """A key of one workspace: ``mockverse:W:`` and the escaped parts joined by ``:``."""
        return ":".join(["mockverse", _part(workspace), *map(_part, parts)])

    def _prefix(self, workspace: str) -> str:
        """The prefix scripts extend with keys they compute from stored links."""
        return self._key(workspace, "")

    def _write_keys(self, workspace: str) -> list[str]:
        """The two keys every write touches: the version it bumps and the set of workspaces."""
        return [self._key(workspace, "version"), "mockverse:workspaces"]

    def _changes_key(self, workspace: str) -> str:
        """The zset of the workspace's recent writes and the change tags each touched."""
        return self._key(workspace, "changes")

    def _entity_keys(self, workspace: str, type: str, id: str) -> list[str]:
        """The entity hash and its created and deleted indexes."""
        return [self._key(workspace, "entity", type, id), self._key(workspace, "created", type),
                self._key(workspace, "deleted", type)]

    def _log_keys(self, workspace: str, kind: str) -> list[str]:
        """The seq index, the seq -> key hash and the seq -> value hash of one log kind."""
        return [self._key(workspace, "log", kind), self._key(workspace, "log", kind, "keys"),
                self._key(workspace, "log", kind, "values")]

    # -- reads ----------------------------------------------------------------------------
    @_reachable
    def version(self, workspace: str) -> int:
        """The workspace's write counter, read to key the caches: once per request (the request's
        ``Activity`` keeps it), again only if this process wrote since. Every write acknowledged
        before the request began is counted, so each request still sees every earlier one."""
        activity = ACTIVITY.get()
        if activity is not None and not activity.live:
            activity = None
        if activity is not None:
            known = activity.versions.get(workspace)
            if known is not None and known[1] == self._writes:
                return known[0]
        writes = self._writes
        value = self._redis.get(self._key(workspace, "version"))
        version = int(value) if value is not None else 0
        if activity is not None:
            activity.versions[workspace] = (version, writes)
        return version

    async def version_now(self, workspace: str) -> int:
        """The workspace's write counter, read by a round trip that began after this call: calls
        made meanwhile on the event loop share it (one MGET), so a request pays a fraction of one."""
        return await self._versions.read(workspace)

    def async_client(self) -> redis.asyncio.Redis:
        """A client for the running event loop, with the timeouts of the blocking one."""
        connect, timeout = self._timeouts
        return redis.asyncio.Redis.from_url(
            self.url, socket_connect_timeout=connect, socket_timeout=timeout,
            retry=redis.asyncio.retry.Retry(NoBackoff(), 0), health_check_interval=0)

    async def aclose(self) -> None:
        """Close the event loop's connection (the version reads)."""
        await self._versions.aclose()

    @_reachable
    def changes(self, workspace: str, since: int) -> list[tuple[int, list[str]]]:
        """The writes after version ``since`` still kept, as (version, change tags), oldest first."""
        members = _raw(self._redis.zrangebyscore(self._changes_key(workspace), f"({since}", "+inf"))
        return [(int(version), list(dict.fromkeys(tags))) for version, tags in map(orjson.loads, members)]

    @_reachable
    def get_entity(self, workspace: str, type: str, id: str) -> StoredEntity | None:
        return self._answer("get_entity", (type, id), self._ask(self._redis, workspace, "get_entity", (type, id)))

    @_reachable
    def read_many(self, workspace: str, reads: list[Read]) -> list[Any]:
        """What each of ``reads`` (kind, arguments) answers, read in one round trip (a MULTI/EXEC
        pipeline, so the answers are of one moment)."""
        if not reads:
            return []
        with self._redis.pipeline(transaction=True) as pipe:
            for kind, args in batched(reads):
                self._ask(pipe, workspace, kind, args)
            replies = pipe.execute()
        return [self._answer(kind, args, reply) for (kind, args), reply in zip(reads, replies, strict=True)]

    def _ask(self, client: Any, workspace: str, kind: str, args: tuple[str, ...]) -> Any:
        """Send the one command a batched read makes, on the client (its reply) or a pipeline (queued)."""
        if kind == "get_entity":
            return client.hmget(self._key(workspace, "entity", *args), "data", "mode", "deleted")
        if kind == "linked":
            return client.zrange(self._key(workspace, "out", args[0]), 0, -1)
        return client.hget(self._key(workspace, "settings"), args[0])

    @staticmethod
    def _answer(kind: str, args: tuple[str, ...], reply: Any) -> Any:
        """A batched read's answer from the reply to its command."""
        if kind == "get_entity":
            data, mode, deleted = cast("list[bytes | None]", reply)
            if data is None or mode is None:
                return None
            return StoredEntity(args[0], args[1], orjson.loads(data), mode.decode(), deleted == b"1")
        if kind == "linked":
            return [child for _, rel, child in map(orjson.loads, _raw(reply)) if rel == args[1]]
        return orjson.loads(reply) if reply is not None else None

    @_reachable
    def created_ids(self, workspace: str, type: str) -> list[str]:
        """Ids of entities users created and did not delete, in creation order."""
        return [i.decode() for i in _raw(self._redis.zrange(self._key(workspace, "created", type), 0, -1))]

    @_reachable
    def deleted_ids(self, workspace: str, type: str) -> list[str]:
        """Tombstoned ids of generated entities, in id order like SQLite's primary key."""
        return [i.decode() for i in _raw(self._redis.zrange(self._key(workspace, "deleted", type), 0, -1))]

    @_reachable
    def stored_ids(self, workspace: str, type: str) -> list[str]:
        """Ids of every entity of a type with a stored record (created, changed or deleted), in id order:
        the type's set of them, which every entity write adds to (one round trip, whatever else is stored)."""
        if not self._stored_indexed:
            self._index_stored()
        return sorted(i.decode() for i in _raw(self._redis.smembers(self._key(workspace, "stored", type))))

    def _index_stored(self) -> None:
        """Fill the per-type sets of stored ids from the entity records of a Redis that a version of
        mockverse keeping no such sets wrote (once per Redis: a marker key says it was done)."""
        if not self._redis.exists(STORED_INDEXED):
            with self._redis.pipeline(transaction=False) as pipe:
                for key in _raw(self._redis.scan_iter(match="mockverse:*:entity:*", count=1000)):
                    parts = key.decode().split(":")
                    if len(parts) == 5 and parts[2] == "entity":   # mockverse:W:entity:TYPE:ID, each part escaped
                        pipe.sadd(":".join(["mockverse", parts[1], "stored", parts[3]]),
                                  parts[4].replace("%3A", ":").replace("%25", "%"))
                pipe.set(STORED_INDEXED, "1")
                pipe.execute()
        self._stored_indexed = True

    @_reachable
    def setting_keys(self, workspace: str, prefix: str) -> list[str]:
        """The keys of the workspace's settings that start with ``prefix``, sorted."""
        keys = (key.decode() for key in _raw(self._redis.hkeys(self._key(workspace, "settings"))))
        return sorted(key for key in keys if key.startswith(prefix))

    @_reachable
    def linked(self, workspace: str, ref: str, relationship: str) -> list[str]:
        """Children of ``ref`` over one relationship, in link insertion order."""
        return self._answer("linked", (ref, relationship), self._ask(self._redis, workspace, "linked", (ref,)))

    @_reachable
    def links_of(self, workspace: str, ref: str) -> list[tuple[str, str, str]]:
        """Every link in which ``ref`` is parent or child, in insertion order."""
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrange(self._key(workspace, "out", ref), 0, -1, withscores=True)
            pipe.zrange(self._key(workspace, "in", ref), 0, -1, withscores=True)
            out, into = pipe.execute()
        ordered = sorted(dict([*out, *into]).items(), key=lambda item: item[1])
        return [tuple(orjson.loads(member)) for member, _ in ordered]

    @_reachable
    def get_setting(self, workspace: str, key: str) -> Any:
        return self._answer("get_setting", (key,), self._ask(self._redis, workspace, "get_setting", (key,)))

    @_reachable
    def workspaces(self) -> list[str]:
        """Every workspace that has been written to, sorted by name."""
        return sorted(name.decode() for name in _raw(self._redis.smembers("mockverse:workspaces")))

    @_reachable
    def entries(self, workspace: str, kind: str, key: str | None = None, limit: int | None = None,
                newest_first: bool = False) -> list[tuple[int, str, Any]]:
        """Records of one kind (optionally one key) as (seq, key, value), oldest first unless asked."""
        if limit == 0:
            return []
        index, keys, values = self._log_keys(workspace, kind)
        if key is not None:
            index = self._key(workspace, "log", kind, "key", key)
        stop = limit - 1 if limit is not None and limit > 0 else -1
        flat = self._entries(keys=[index, keys, values], args=[0, stop, "rev" if newest_first else ""])
        return [(int(flat[i]), flat[i + 1].decode(), orjson.loads(flat[i + 2])) for i in range(0, len(flat), 3)]

    @_reachable
    def entry(self, workspace: str, kind: str, seq: int) -> tuple[int, str, Any] | None:
        _, keys, values = self._log_keys(workspace, kind)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hget(keys, seq)
            pipe.hget(values, seq)
            key, value = pipe.execute()
        return (seq, key.decode(), orjson.loads(value)) if value is not None else None

    # -- writes ---------------------------------------------------------------------------
    @_writing
    @_reachable
    def put_entity(self, workspace: str, type: str, id: str, data: dict[str, Any], mode: str,
                   links: list[tuple[str, str, str]]) -> int:
        """Store ``data`` for the entity and replace the links in which it is the child."""
        ref = f"{type}:{id}"
        keys = [*self._write_keys(workspace), *self._entity_keys(workspace, type, id),
                self._key(workspace, "in", ref), self._key(workspace, "link-seq"), self._changes_key(workspace),
                self._key(workspace, "stored", type)]
        tags = [entity_tag(type, id), links_tag(ref),
                *(links_tag(end) for parent, _, child in links for end in (parent, child))]
        args: list[EncodableT] = [self._prefix(workspace), workspace, id, orjson.dumps(data), mode,
                                  orjson.dumps(tags), KEEP_CHANGES, members_tag(type),
                                  *(orjson.dumps(list(link)) for link in links)]
        answer = self._put_entity(keys=keys, args=args)
        if isinstance(answer, list):
            key, holder = (part.decode() if isinstance(part, bytes) else str(part) for part in answer)
            raise KeyClaimed(key, holder)
        return int(answer)

    @_writing
    @_reachable
    def delete_entity(self, workspace: str, type: str, id: str, mode: str) -> int:
        """Mark the entity deleted (a tombstone: generated entities stay computed but hidden)."""
        ref = f"{type}:{id}"
        keys = [*self._write_keys(workspace), *self._entity_keys(workspace, type, id),
                self._key(workspace, "in", ref), self._key(workspace, "out", ref), self._changes_key(workspace),
                self._key(workspace, "stored", type)]
        tags = orjson.dumps([entity_tag(type, id), members_tag(type), links_tag(ref)])
        return int(self._delete_entity(keys=keys, args=[self._prefix(workspace), workspace, id, mode, tags,
                                                        KEEP_CHANGES]))

    @_reachable
    def next_id(self, workspace: str, type: str) -> int:
        """The next number of a per-type counter, atomic across instances (INCR)."""
        return int(self._redis.incr(self._key(workspace, "counter", type)))

    def _record(self, pipe: Any, workspace: str, tags: list[str]) -> None:
        """Queue on ``pipe`` the version bump of one write and the change tags it touched."""
        self._bump(keys=[*self._write_keys(workspace), self._changes_key(workspace)],
                   args=[workspace, orjson.dumps(tags), KEEP_CHANGES], client=pipe)

    @_writing
    @_reachable
    def put_setting(self, workspace: str, key: str, value: Any) -> int:
        with self._redis.pipeline(transaction=True) as pipe:
            self._record(pipe, workspace, setting_tags(key))
            pipe.hset(self._key(workspace, "settings"), key, orjson.dumps(value))
            return int(pipe.execute()[0])

    @_writing
    @_reachable
    def update_setting(self, workspace: str, key: str, change: Callable[[Any], Any]) -> Any:
        """Read-modify-write one setting atomically across instances: WATCH the settings hash,
        compute, and commit in MULTI/EXEC; a concurrent write makes EXEC fail and we retry."""
        settings = self._key(workspace, "settings")
        while True:
            with self._redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(settings)
                    raw = pipe.hget(settings, key)
                    value = change(orjson.loads(raw) if raw is not None else None)
                    pipe.multi()
                    self._record(pipe, workspace, setting_tags(key))
                    pipe.hset(settings, key, orjson.dumps(value))
                    pipe.execute()
                    return value
                except redis.WatchError:
                    continue

    @_writing
    @_reachable
    def append(self, workspace: str, kind: str, key: str, value: Any) -> int:
        """Append a record (a recording, a fidelity score, a delivery) to a log; returns its sequence number."""
        keys = [*self._write_keys(workspace), "mockverse:log-seq", *self._log_keys(workspace, kind),
                self._key(workspace, "log", kind, "key", key), self._changes_key(workspace)]
        return int(self._append(keys=keys, args=[workspace, key, orjson.dumps(value), orjson.dumps([log_tag(kind)]),
                                                 KEEP_CHANGES]))

    @_writing
    @_reachable
    def update_entry(self, workspace: str, kind: str, seq: int, value: Any) -> bool:
        keys = [*self._write_keys(workspace), self._log_keys(workspace, kind)[2], self._changes_key(workspace)]
        return bool(self._update_entry(keys=keys, args=[workspace, seq, orjson.dumps(value),
                                                        orjson.dumps([log_tag(kind)]), KEEP_CHANGES]))

    @_writing
    @_reachable
    def delete_entries(self, workspace: str, kind: str, seq: int | None = None) -> int:
        """Delete one record (by seq) or every record of a kind; returns how many went."""
        keys = [*self._write_keys(workspace), *self._log_keys(workspace, kind), self._changes_key(workspace)]
        index_prefix = self._key(workspace, "log", kind, "key", "")
        return int(self._delete_entries(keys=keys, args=[workspace, index_prefix, "" if seq is None else seq,
                                                         orjson.dumps([log_tag(kind)]), KEEP_CHANGES]))

    @_writing
    @_reachable
    def reset_workspace(self, workspace: str, keep: tuple[str, ...] = ()) -> int:
        """Drop every key of a workspace but its version (bumped, never rewound) and the settings
        in ``keep``, in one script, so other instances see the reset on their next request."""
        glob = re.sub(r"([*?\[\]\\])", r"\\\1", self._prefix(workspace)) + "*"
        keys = [*self._write_keys(workspace), self._key(workspace, "settings"), self._changes_key(workspace)]
        return int(self._reset(keys=keys, args=[workspace, glob, orjson.dumps([EVERYTHING]), KEEP_CHANGES, *keep]))

    @_reachable
    def integrity_check(self) -> str:
        """``ok`` when Redis answers; Redis keeps its own data consistent."""
        self._redis.ping()
        return "ok"

    def close(self) -> None:
        self._redis.close()


class _VersionReads:
    """Workspace versions read for event loops in shared round trips (:class:`_LoopReads`), each
    loop with its own client: a client belongs to the loop it connected on."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self.loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopReads] = weakref.WeakKeyDictionary()

    async def read(self, workspace: str) -> int:
        """The version of ``workspace`` as a round trip sent after this call finds it."""
        loop = asyncio.get_running_loop()
        reads = self.loops.get(loop)
        if reads is None:
            reads = self.loops[loop] = _LoopReads(self.store, self.store.async_client())
        return await reads.read(loop, workspace)

    async def aclose(self) -> None:
        """Close the running loop's client."""
        reads = self.loops.pop(asyncio.get_running_loop(), None)
        if reads is not None:
            await reads.client.aclose()


class _LoopReads:
    """One loop's version reads: a caller joins the next MGET, which is sent once the one on its
    way (sent before the caller asked) is back."""

    def __init__(self, store: RedisStore, client: redis.asyncio.Redis) -> None:
        self.store, self.client = store, client
        self.waiting: dict[str, list[asyncio.Future[int]]] = {}
        self.reading = False

    async def read(self, loop: asyncio.AbstractEventLoop, workspace: str) -> int:
        answer: asyncio.Future[int] = loop.create_future()
        self.waiting.setdefault(workspace, []).append(answer)
        if not self.reading:
            self.reading = True
            loop.create_task(self.send())
        return await answer

    async def send(self) -> None:
        """Send MGETs while callers wait, each for the callers that asked before it was sent."""
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, {}
                names = list(batch)
                outcome: dict[str, int | Exception]
                try:
                    values = await self.client.mget([self.store._key(name, "version") for name in names])
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    failure = StoreUnavailable(f"the Redis store is unreachable: {exc}")
                    outcome = dict.fromkeys(names, failure)
                except Exception as exc:
                    outcome = dict.fromkeys(names, exc)
                else:
                    outcome = {name: int(value) if value is not None else 0
                               for name, value in zip(names, values, strict=True)}
                _settle(batch, outcome)
        finally:
            self.reading = False


def _settle(batch: dict[str, list[asyncio.Future[int]]], outcome: dict[str, int | Exception]) -> None:
    """Give each waiting caller its workspace's version, or the failure of the read."""
    for name, answers in batch.items():
        result = outcome[name]
        for answer in answers:
            if answer.done():       # its request went away meanwhile
                continue
            if isinstance(result, Exception):
                answer.set_exception(result)
            else:
                answer.set_result(result)
