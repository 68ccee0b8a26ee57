package cache

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
)

func openTemp(t testing.TB, opts ...Option) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cache.db")
	s, err := OpenSQLite(path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, path
}

// rawDB opens the file directly, as another program would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func mustGet(t *testing.T, s llm.Cache, key string) *llm.Response {
	t.Helper()
	got, ok, err := s.Get(context.Background(), key)
	require.NoError(t, err)
	require.True(t, ok, "want a hit for %s", key)
	return got
}

func mustMiss(t *testing.T, s llm.Cache, key string) {
	t.Helper()
	got, ok, err := s.Get(context.Background(), key)
	require.NoError(t, err)
	require.False(t, ok, "want a miss for %s", key)
	require.Nil(t, got)
}

func TestSQLiteRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	resp := fullResponse()
	require.NoError(t, s.Put(ctx, "k", resp))

	// Before the commit (served from the write buffer or the file, either
	// way the same), after it, and after a reopen.
	assert.Equal(t, asHit(resp), *mustGet(t, s, "k"))
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, asHit(resp), *mustGet(t, s, "k"))
	require.NoError(t, s.Close())

	s2, err := OpenSQLite(path)
	require.NoError(t, err)
	defer s2.Close()
	got := mustGet(t, s2, "k")
	assert.Equal(t, asHit(resp), *got)
	assert.Nil(t, got.Header)
	assert.Equal(t, 2, got.Attempts, "attempts are the original call's")
	assert.Equal(t, 1234*time.Millisecond, got.Latency)

	st, err := s2.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Hits)
	assert.Equal(t, int64(1), st.Entries)
	assert.InDelta(t, resp.Cost, st.SavedCost, 1e-12)

	// The original cost and model are kept in the file.
	var model string
	var cost float64
	require.NoError(t, rawDB(t, path).QueryRow("SELECT model, cost FROM responses WHERE key = 'k'").Scan(&model, &cost))
	assert.Equal(t, "azure-gpt-4o", model)
	assert.InDelta(t, resp.Cost, cost, 1e-12)
}

// TestSQLitePutReplacesInTheFile: a replaced response stays replaced once
// committed (the conformance suite sees the write buffer; this reads the
// file).
func TestSQLitePutReplacesInTheFile(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	require.NoError(t, s.Put(ctx, "k", textResponse("first")))
	require.NoError(t, s.Put(ctx, "k", textResponse("second")))
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, "second", mustGet(t, s, "k").Completion)
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Entries)
}

func TestSQLiteTwoHandles(t *testing.T) {
	ctx := context.Background()
	a, path := openTemp(t)
	b, err := OpenSQLite(path)
	require.NoError(t, err)
	defer b.Close()

	require.NoError(t, a.Put(ctx, "from-a", textResponse("a")))
	require.NoError(t, a.Flush(ctx))
	assert.Equal(t, "a", mustGet(t, b, "from-a").Completion)

	require.NoError(t, b.Put(ctx, "from-b", textResponse("b")))
	require.NoError(t, b.Flush(ctx))
	assert.Equal(t, "b", mustGet(t, a, "from-b").Completion)

	// Both handles writing at once: nothing lost, nothing fails.
	var wg sync.WaitGroup
	for i, h := range []*SQLite{a, b} {
		wg.Go(func() {
			for j := range 200 {
				assert.NoError(t, h.Put(ctx, fmt.Sprintf("%d-%d", i, j), textResponse("x")))
			}
			assert.NoError(t, h.Flush(ctx))
		})
	}
	wg.Wait()
	st, err := a.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(402), st.Entries)
	assert.Zero(t, st.WriteErrors)
}

func TestSQLiteConcurrentOpen(t *testing.T) {
	// Many handles racing to create and migrate a new file.
	path := filepath.Join(t.TempDir(), "cache.db")
	const n = 8
	stores := make([]*SQLite, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := OpenSQLite(path)
			if assert.NoError(t, err) {
				stores[i] = s
			}
		})
	}
	wg.Wait()
	ctx := context.Background()
	for i, s := range stores {
		require.NotNil(t, s)
		require.NoError(t, s.Put(ctx, fmt.Sprint(i), textResponse("x")))
		require.NoError(t, s.Close())
	}
	s, err := OpenSQLite(path)
	require.NoError(t, err)
	defer s.Close()
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(n), st.Entries)
}

// TestSQLiteTwoProcesses writes to one file from this process and from a
// child process at the same time.
func TestSQLiteTwoProcesses(t *testing.T) {
	if path := os.Getenv("DELUGE_CACHE_CHILD"); path != "" {
		s, err := OpenSQLite(path)
		require.NoError(t, err)
		for i := range 300 {
			require.NoError(t, s.Put(context.Background(), fmt.Sprintf("child-%d", i), textResponse("child")))
		}
		require.NoError(t, s.Close())
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	ctx := context.Background()
	s, path := openTemp(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteTwoProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DELUGE_CACHE_CHILD="+path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	for i := range 300 {
		require.NoError(t, s.Put(ctx, fmt.Sprintf("parent-%d", i), textResponse("parent")))
		if i%50 == 0 {
			require.NoError(t, s.Flush(ctx))
		}
	}
	require.NoError(t, cmd.Wait(), "child process: %s", out.String())
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, "child", mustGet(t, s, "child-299").Completion)
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(600), st.Entries)
	assert.Zero(t, st.WriteErrors)
}

func TestSQLiteSyncPut(t *testing.T) {
	ctx := context.Background()
	a, path := openTemp(t, WithWriteBuffer(0))
	b, err := OpenSQLite(path)
	require.NoError(t, err)
	defer b.Close()
	// With no write buffer, a Put is committed when it returns.
	require.NoError(t, a.Put(ctx, "k", textResponse("now")))
	assert.Equal(t, "now", mustGet(t, b, "k").Completion)
}

func TestSQLiteTTL(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s, path := openTemp(t, WithTTL(time.Hour), WithClock(clock.Now))
	require.NoError(t, s.Put(ctx, "old", textResponse("old")))
	require.NoError(t, s.Flush(ctx))

	clock.Advance(59 * time.Minute)
	require.NoError(t, s.Put(ctx, "new", textResponse("new")))
	require.NoError(t, s.Flush(ctx))
	mustGet(t, s, "old")

	clock.Advance(2 * time.Minute) // "old" is 61 minutes old, "new" 2
	mustMiss(t, s, "old")
	mustGet(t, s, "new")
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Expired)
	assert.Equal(t, int64(2), st.Entries, "expired entries stay until the next open")

	// A store without a TTL still serves it.
	plain, err := OpenSQLite(path)
	require.NoError(t, err)
	mustGet(t, plain, "old")
	require.NoError(t, plain.Close())

	// Opening with a TTL deletes what has expired.
	require.NoError(t, s.Close())
	s2, err := OpenSQLite(path, WithTTL(time.Hour), WithClock(clock.Now))
	require.NoError(t, err)
	defer s2.Close()
	st, err = s2.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Entries)
	mustGet(t, s2, "new")
}

func TestSQLiteCorruptRow(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	s, path := openTemp(t, WithLogger(logger))
	require.NoError(t, s.Put(ctx, "good", textResponse("fine")))
	require.NoError(t, s.Flush(ctx))

	_, err := rawDB(t, path).Exec(`INSERT INTO responses (key, model, created_at, cost, body) VALUES
		('bad-json', 'm', 0, 0, '{"model": "m", "completion": '),
		('bad-type', 'm', 0, 0, '{"attempts": "many"}'),
		('bad-role', 'm', 0, 0, '{"message": {"role": "robot"}}')`)
	require.NoError(t, err)

	for _, k := range []string{"bad-json", "bad-type", "bad-role"} {
		mustMiss(t, s, k)
		assert.Contains(t, logs.String(), "key="+k)
	}
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "cannot be decoded")
	assert.Equal(t, "fine", mustGet(t, s, "good").Completion)
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(3), st.Corrupt)
	assert.Equal(t, int64(3), st.Misses)

	// Answering the request again replaces the bad row.
	require.NoError(t, s.Put(ctx, "bad-json", textResponse("repaired")))
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, "repaired", mustGet(t, s, "bad-json").Completion)
}

func TestSQLiteFilePermissions(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "new", "nested")
	path := filepath.Join(dir, "cache.db")
	s, err := OpenSQLite(path)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Put(ctx, "k", textResponse("x")))
	require.NoError(t, s.Flush(ctx))

	for _, d := range []string{dir, filepath.Dir(dir)} {
		fi, err := os.Stat(d)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), d)
	}
	// The database and its WAL companions are private.
	for _, name := range []string{"cache.db", "cache.db-wal", "cache.db-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
	}
	assert.Equal(t, filepath.Clean(path), s.Path())
}

func TestSQLiteWALAndSchema(t *testing.T) {
	_, path := openTemp(t)
	db := rawDB(t, path)
	var mode string
	require.NoError(t, db.QueryRow("PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, "wal", mode)
	var version, appID int
	require.NoError(t, db.QueryRow("PRAGMA user_version").Scan(&version))
	require.NoError(t, db.QueryRow("PRAGMA application_id").Scan(&appID))
	assert.Equal(t, schemaVersion, version)
	assert.Equal(t, applicationID, appID)
}

func TestSQLiteFutureSchema(t *testing.T) {
	s, path := openTemp(t)
	require.NoError(t, s.Close())
	_, err := rawDB(t, path).Exec("PRAGMA user_version = 99")
	require.NoError(t, err)

	_, err = OpenSQLite(path)
	require.Error(t, err)
	require.ErrorIs(t, err, ErrNewerSchema)
	var se *SchemaError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 99, se.Version)
	assert.Equal(t, fmt.Sprintf("cache file %s was written by a newer deluge (schema 99; this build reads up to schema %d): delete it or use --no-cache",
		path, schemaVersion), err.Error())
}

func TestSQLiteForeignFiles(t *testing.T) {
	dir := t.TempDir()

	// Another application's SQLite database is left alone.
	other := filepath.Join(dir, "other.db")
	db := rawDB(t, other)
	_, err := db.Exec("CREATE TABLE invoices (id INTEGER)")
	require.NoError(t, err)
	_, err = OpenSQLite(other)
	require.ErrorIs(t, err, ErrNotCache)
	assert.ErrorContains(t, err, other)
	var mode string
	require.NoError(t, rawDB(t, other).QueryRow("PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, "delete", mode, "another application's file must be left as it is")

	tagged := filepath.Join(dir, "tagged.db")
	_, err = rawDB(t, tagged).Exec("PRAGMA application_id = 42")
	require.NoError(t, err)
	_, err = OpenSQLite(tagged)
	require.ErrorIs(t, err, ErrNotCache)

	// A file that is not SQLite at all.
	text := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(text, bytes.Repeat([]byte("not a database\n"), 100), 0o600))
	_, err = OpenSQLite(text)
	require.Error(t, err)
	assert.ErrorContains(t, err, text)
	assert.ErrorContains(t, err, "delete it")
	data, _ := os.ReadFile(text)
	assert.True(t, bytes.HasPrefix(data, []byte("not a database")), "a foreign file must not be overwritten")

	// Paths that are not plain files.
	for _, p := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		_, err := OpenSQLite(p)
		assert.Error(t, err, p)
	}
	_, err = OpenSQLite(dir) // a directory
	assert.ErrorContains(t, err, dir)
}

func TestSQLiteHeaderNeverPersisted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "cache.db")
	s, err := OpenSQLite(path)
	require.NoError(t, err)
	resp := fullResponse()
	require.NoError(t, s.Put(ctx, "k", resp))
	require.NoError(t, s.Flush(ctx))
	require.NotNil(t, resp.Header, "Put must not modify its argument")

	secrets := []string{"sk-SECRET-api-key-9f8e7d", "SECRET-entra-token-1a2b3c", "Api-Key", "Authorization", "X-Ratelimit"}
	// The control: something from the response is in the files, so the
	// check below reads the right bytes.
	grep := func(needle string) bool {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			if bytes.Contains(bytes.ToLower(data), bytes.ToLower([]byte(needle))) {
				return true
			}
		}
		return false
	}
	require.True(t, grep("req-0b7f"), "the response should be in the files")
	for _, secret := range secrets {
		assert.False(t, grep(secret), "%q must never be written to the cache", secret)
	}
	require.NoError(t, s.Close()) // checkpoints the WAL into the main file
	require.True(t, grep("req-0b7f"))
	for _, secret := range secrets {
		assert.False(t, grep(secret), "%q must never be written to the cache", secret)
	}
}

func TestSQLiteClosed(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	require.NoError(t, s.Put(ctx, "k", textResponse("x")))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")

	_, _, err := s.Get(ctx, "k")
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, s.Put(ctx, "k", textResponse("x")), ErrClosed)
	assert.ErrorIs(t, s.Flush(ctx), ErrClosed)
	assert.ErrorIs(t, s.Clear(ctx), ErrClosed)
	_, err = s.Stats(ctx)
	assert.ErrorIs(t, err, ErrClosed)
}

func TestSQLiteCloseFlushes(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	for i := range 500 {
		require.NoError(t, s.Put(ctx, fmt.Sprint(i), textResponse(fmt.Sprint(i))))
	}
	require.NoError(t, s.Close())
	var n int
	require.NoError(t, rawDB(t, path).QueryRow("SELECT count(*) FROM responses").Scan(&n))
	assert.Equal(t, 500, n)
}

func TestSQLiteClear(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	for i := range 10 {
		require.NoError(t, s.Put(ctx, fmt.Sprint(i), textResponse("x")))
	}
	require.NoError(t, s.Clear(ctx))
	mustMiss(t, s, "3")
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Zero(t, st.Entries)
}

// lockFile holds the write lock of the cache file from another connection,
// as a second process writing would, until the returned function is called.
func lockFile(t *testing.T, path string) (release func()) {
	t.Helper()
	conn, err := rawDB(t, path).Conn(context.Background())
	require.NoError(t, err)
	_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
	require.NoError(t, err)
	return func() {
		_, err := conn.ExecContext(context.Background(), "COMMIT")
		require.NoError(t, err)
		conn.Close()
	}
}

func TestSQLiteContext(t *testing.T) {
	s, path := openTemp(t, WithWriteBuffer(1))
	require.NoError(t, s.Put(context.Background(), "pre", textResponse("pre")))
	require.NoError(t, s.Flush(context.Background()))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := s.Get(cancelled, "k")
	assert.ErrorIs(t, err, context.Canceled)

	// While another process holds the write lock, the writer waits (busy
	// timeout) and the buffer fills: Put then waits only as long as its
	// context allows.
	release := lockFile(t, path)
	mustGet(t, s, "pre") // readers are not blocked by a writer (WAL)
	var putErr error
	for i := range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		putErr = s.Put(ctx, fmt.Sprint(i), textResponse("x"))
		cancel()
		if putErr != nil {
			break
		}
	}
	assert.ErrorIs(t, putErr, context.DeadlineExceeded)
	assert.ErrorContains(t, putErr, "write buffer")
	release()

	// Once the lock is released the queued Puts are committed.
	require.NoError(t, s.Flush(context.Background()))
	mustGet(t, s, "0")
}

func TestSQLiteWriteFailure(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	s, path := openTemp(t, WithBusyTimeout(10*time.Millisecond), WithLogger(slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))))
	release := lockFile(t, path)
	require.NoError(t, s.Put(ctx, "k", textResponse("x")))
	err := s.Flush(ctx)
	require.Error(t, err, "the writer cannot get the lock within the busy timeout")
	assert.ErrorContains(t, err, "write 1 responses")
	release()

	// The failure is reported once, counted, logged, and the response is
	// not served from the buffer forever.
	require.NoError(t, s.Flush(ctx))
	mustMiss(t, s, "k")
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.WriteErrors)
	assert.Contains(t, logs.String(), "not stored")

	// The writer recovers.
	require.NoError(t, s.Put(ctx, "k", textResponse("x")))
	require.NoError(t, s.Flush(ctx))
	mustGet(t, s, "k")
	require.NoError(t, s.Close())
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func TestSQLiteOddPath(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a b?c#d%20e&f=g")
	path := filepath.Join(dir, "my cache.db")
	s, err := OpenSQLite(path)
	require.NoError(t, err)
	require.NoError(t, s.Put(ctx, "k", textResponse("x")))
	require.NoError(t, s.Close())
	_, err = os.Stat(path)
	require.NoError(t, err, "the file must be created at exactly the given path")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.True(t, strings.HasPrefix(e.Name(), "my cache.db"), e.Name())
	}
	s, err = OpenSQLite(path)
	require.NoError(t, err)
	defer s.Close()
	mustGet(t, s, "k")
}

func TestDefaultPath(t *testing.T) {
	base := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", base)
	t.Setenv("HOME", base)
	t.Setenv("LocalAppData", base)
	p, err := DefaultPath()
	require.NoError(t, err)
	want, _ := os.UserCacheDir()
	assert.Equal(t, filepath.Join(want, "deluge", "cache.db"), p)
	assert.True(t, strings.HasPrefix(p, base), p)
}

func TestStatsHitRate(t *testing.T) {
	assert.Equal(t, 0.75, Stats{Hits: 3, Misses: 1}.HitRate())
	assert.Zero(t, Stats{}.HitRate())
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%064x", i)
	}
	return keys
}

func BenchmarkSQLiteGet(b *testing.B) {
	ctx := context.Background()
	s, _ := openTemp(b)
	keys := benchKeys(1000)
	for _, k := range keys {
		if err := s.Put(ctx, k, fullResponse()); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok, err := s.Get(ctx, keys[i%len(keys)]); !ok || err != nil {
				b.Fatal("miss", err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, ok, err := s.Get(ctx, keys[i%len(keys)]); !ok || err != nil {
					b.Fatal("miss", err)
				}
				i++
			}
		})
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, _ := s.Get(ctx, "absent"); ok {
				b.Fatal("hit")
			}
		}
	})
}

func BenchmarkSQLitePut(b *testing.B) {
	ctx := context.Background()
	resp := fullResponse()
	keys := benchKeys(1 << 16)
	// Buffered: the throughput of Put with the writer committing in
	// groups; the final Flush is timed so the commits are counted.
	b.Run("buffered", func(b *testing.B) {
		s, _ := openTemp(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := s.Put(ctx, keys[i%len(keys)], resp); err != nil {
				b.Fatal(err)
			}
			i++
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("buffered-parallel", func(b *testing.B) {
		s, _ := openTemp(b)
		b.ReportAllocs()
		var mu sync.Mutex
		n := 0
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				k := keys[n%len(keys)]
				n++
				mu.Unlock()
				if err := s.Put(ctx, k, resp); err != nil {
					b.Fatal(err)
				}
			}
		})
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	})
	// Synchronous: every Put waits for its own commit.
	b.Run("sync", func(b *testing.B) {
		s, _ := openTemp(b, WithWriteBuffer(0))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := s.Put(ctx, keys[i%len(keys)], resp); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func TestSQLiteMaxEntries(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s, path := openTemp(t, WithMaxEntries(10), WithClock(clock.Now))
	// One Put per flush, a millisecond apart, so that age decides.
	for i := range 30 {
		clock.Advance(time.Millisecond)
		require.NoError(t, s.Put(ctx, fmt.Sprintf("k%02d", i), textResponse(fmt.Sprint(i))))
		require.NoError(t, s.Flush(ctx))
	}
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.LessOrEqual(t, st.Entries, int64(11), "at most 10%% over the bound")
	assert.GreaterOrEqual(t, st.Entries, int64(10))
	assert.Equal(t, 30-st.Entries, st.Evictions)
	mustGet(t, s, "k29")
	mustMiss(t, s, "k00")

	// Reopening with a smaller bound prunes at once, oldest first.
	require.NoError(t, s.Close())
	s2, err := OpenSQLite(path, WithMaxEntries(3), WithClock(clock.Now))
	require.NoError(t, err)
	defer s2.Close()
	st, err = s2.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(3), st.Entries)
	for _, k := range []string{"k27", "k28", "k29"} {
		mustGet(t, s2, k)
	}
	mustMiss(t, s2, "k26")
}
