package cache

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Defaults of the SQLite options.
const (
	DefaultBusyTimeout = 5 * time.Second
	DefaultWriteBuffer = 1024
)

// maxBatch bounds the number of Puts committed in one transaction.
const maxBatch = 256

// An Option configures OpenSQLite.
type Option func(*options)

type options struct {
	ttl         time.Duration
	now         func() time.Time
	logger      *slog.Logger
	buffer      int
	busyTimeout time.Duration
	maxEntries  int64
}

// WithTTL makes entries older than d misses (counted in Stats.Expired) and
// deletes them when the file is opened. Zero or negative means entries never
// expire (the default). The age is measured from the Put.
func WithTTL(d time.Duration) Option {
	return func(o *options) { o.ttl = max(d, 0) }
}

// WithClock replaces time.Now as the store's clock, for tests of TTL expiry.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithLogger sends the store's warnings (undecodable entries, failed writes)
// to l instead of slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithWriteBuffer sets how many Puts may wait for the writer (default
// DefaultWriteBuffer). A Put that finds the buffer full waits for room, for
// as long as its context allows. n = 0 makes every Put wait until its
// response is committed; negative n means the default.
func WithWriteBuffer(n int) Option {
	return func(o *options) {
		if n >= 0 {
			o.buffer = n
		}
	}
}

// WithMaxEntries bounds the file to about n responses: when it holds more,
// the oldest (by the time of their Put) are deleted. The bound is checked
// when the file is opened and then whenever this handle's writes may have
// pushed the file 10% past it, so that pruning costs O(1) per Put on
// average; between checks, and with several processes writing, the file may
// briefly hold up to 10% more. Zero or negative means no bound (the
// default). Deleted entries are counted in Stats.Evictions.
func WithMaxEntries(n int) Option {
	return func(o *options) { o.maxEntries = int64(max(n, 0)) }
}

// WithBusyTimeout sets how long an operation waits for another process's
// lock on the file before failing (default DefaultBusyTimeout).
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.busyTimeout = d
		}
	}
}

// SQLite is a response store in an SQLite file, safe for concurrent use by
// many goroutines and by several processes sharing the file. Open it with
// OpenSQLite and Close it when done: Close commits the Puts still queued.
type SQLite struct {
	path string
	db   *sql.DB
	get  *sql.Stmt
	opts options

	// qmu guards closed and sending on queue, so that Close can close queue
	// with no send in progress.
	qmu        sync.RWMutex
	closed     bool
	isClosed   atomic.Bool
	queue      chan *putItem
	writerDone chan struct{}

	// pending holds the Puts queued but not yet committed, so that a Get on
	// this handle sees them at once.
	pmu      sync.Mutex
	pending  map[string]*putItem
	npending atomic.Int64

	errMu    sync.Mutex
	writeErr error // first commit failure since the last Flush

	// Used by the writer goroutine only.
	wconn *sql.Conn
	wstmt *sql.Stmt

	// entries is an upper bound of the file's entries since the last
	// prune, kept with WithMaxEntries (writer goroutine only, after init).
	entries int64

	hits, misses, puts, expired, corrupt, writeErrors, evictions atomic.Int64
	saved                                                        atomicFloat

	closeOnce sync.Once
	closeErr  error
}

// putItem is a queued Put, or a Flush marker when key is empty.
type putItem struct {
	key       string
	model     string
	createdAt int64 // Unix milliseconds
	cost      float64
	body      []byte
	// done, when set, receives the outcome of the commit: for a Flush
	// marker and for a Put with [WithWriteBuffer](0).
	done chan error
}

var _ llm.Cache = (*SQLite)(nil)

// OpenSQLite opens the cache file at path, creating it (mode 0600) and its
// directory (mode 0700) if needed, and brings its schema up to date. The
// file is opened in WAL mode so that other processes can share it.
//
// It fails with ErrNewerSchema for a file written by a newer deluge and with
// ErrNotCache for an SQLite file that belongs to something else.
func OpenSQLite(path string, opts ...Option) (*SQLite, error) {
	o := options{now: time.Now, buffer: DefaultWriteBuffer, busyTimeout: DefaultBusyTimeout}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if path == "" {
		return nil, errors.New("cache: empty cache file path: pass a file path, e.g. from cache.DefaultPath()")
	}
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("cache: %q is not a file path: pass a plain path, or use cache.NewMemory for an in-memory cache", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("cache: resolve %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("cache: create the directory of %s: %w (choose another path or use --no-cache)", abs, err)
	}
	// SQLite would create the file 0644; create it first so that it is
	// private. An existing file keeps its mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cache: open %s: %w (choose another path or use --no-cache)", abs, err)
	}
	f.Close()

	db, err := sql.Open("sqlite", dsn(abs, o.busyTimeout))
	if err != nil {
		return nil, fmt.Errorf("cache: open %s: %w", abs, err)
	}
	// Readers run in parallel under WAL; one more connection is pinned by
	// the writer. Keep them all idle rather than closing them, so that
	// prepared statements survive.
	conns := min(max(runtime.GOMAXPROCS(0), 2), 16) + 1
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)

	s := &SQLite{
		path:       abs,
		db:         db,
		opts:       o,
		queue:      make(chan *putItem, o.buffer),
		writerDone: make(chan struct{}),
		pending:    make(map[string]*putItem),
	}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	go s.writeLoop()
	return s, nil
}

func (s *SQLite) init() error {
	ctx := context.Background()
	if err := migrate(ctx, s.db, s.path, s.opts.busyTimeout); err != nil {
		if errors.Is(err, ErrNewerSchema) || errors.Is(err, ErrNotCache) {
			return err
		}
		return fmt.Errorf("cache: open %s: %w (if the file is damaged, delete it; or use --no-cache)", s.path, err)
	}
	var err error
	s.get, err = s.db.PrepareContext(ctx, "SELECT body, created_at FROM responses WHERE key = ?")
	if err != nil {
		return fmt.Errorf("cache: prepare lookup in %s: %w", s.path, err)
	}
	if err := s.openWriter(ctx); err != nil {
		s.get.Close()
		return fmt.Errorf("cache: open %s for writing: %w", s.path, err)
	}
	if s.opts.ttl > 0 {
		cutoff := s.opts.now().Add(-s.opts.ttl).UnixMilli()
		if _, err := s.db.ExecContext(ctx, "DELETE FROM responses WHERE created_at < ?", cutoff); err != nil {
			s.logger().Warn("cache: could not delete expired entries", "path", s.path, "err", err)
		}
	}
	if s.opts.maxEntries > 0 {
		s.prune(ctx, s.db)
	}
	return nil
}

// execQuerier is what prune needs of a *sql.DB or *sql.Conn.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// prune deletes the oldest entries beyond WithMaxEntries and recounts. A
// failure is logged: an oversized cache is not worth failing a batch for.
func (s *SQLite) prune(ctx context.Context, db execQuerier) {
	res, err := db.ExecContext(ctx, `DELETE FROM responses WHERE key IN (
		SELECT key FROM responses ORDER BY created_at DESC, key LIMIT -1 OFFSET ?)`, s.opts.maxEntries)
	if err == nil {
		if n, nerr := res.RowsAffected(); nerr == nil {
			s.evictions.Add(n)
		}
		err = db.QueryRowContext(ctx, "SELECT count(*) FROM responses").Scan(&s.entries)
	}
	if err != nil {
		s.logger().Warn("cache: could not delete the oldest entries beyond the bound", "path", s.path, "max_entries", s.opts.maxEntries, "err", err)
		s.entries = 0 // try again after another 10% of the bound
	}
}

// maybePrune prunes when this handle's writes may have pushed the file 10%
// past the bound. Writer goroutine only.
func (s *SQLite) maybePrune(added int) {
	if s.opts.maxEntries <= 0 {
		return
	}
	s.entries += int64(added)
	if s.entries <= s.opts.maxEntries+max(s.opts.maxEntries/10, 1) {
		return
	}
	if s.wconn == nil {
		if err := s.openWriter(context.Background()); err != nil {
			return
		}
	}
	s.prune(context.Background(), s.wconn)
}

// dsn returns the modernc.org/sqlite data source name for the file at abs:
// a URI, so that any character may appear in the path.
func dsn(abs string, busy time.Duration) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: C:/x → /C:/x
	}
	u := url.URL{Scheme: "file", Path: p}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	// NORMAL in WAL mode: a power loss may undo the last commits but never
	// corrupts the file.
	q.Add("_pragma", "synchronous(NORMAL)")
	return u.String() + "?" + q.Encode()
}

// Path returns the absolute path of the cache file.
func (s *SQLite) Path() string { return s.path }

func (s *SQLite) logger() *slog.Logger {
	if s.opts.logger != nil {
		return s.opts.logger
	}
	return slog.Default()
}

// Get returns the response stored under key. A hit has Cached set, the
// original Cost and no Header (see the package documentation); an entry older than the
// TTL or one that cannot be decoded is a miss, the latter logged as a
// warning. Errors come only from the file or ctx.
func (s *SQLite) Get(ctx context.Context, key string) (*llm.Response, bool, error) {
	if s.isClosed.Load() {
		return nil, false, ErrClosed
	}
	if s.npending.Load() > 0 {
		s.pmu.Lock()
		it := s.pending[key]
		s.pmu.Unlock()
		if it != nil {
			resp, ok := s.decode(key, it.body)
			return resp, ok, nil
		}
	}
	rows, err := s.get.QueryContext(ctx, key)
	if err != nil {
		return nil, false, s.lookupErr(key, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, false, s.lookupErr(key, err)
		}
		s.misses.Add(1)
		return nil, false, nil
	}
	var (
		body      sql.RawBytes // valid until rows.Close: decoded before
		createdAt int64
	)
	if err := rows.Scan(&body, &createdAt); err != nil {
		return nil, false, s.lookupErr(key, err)
	}
	if s.opts.ttl > 0 && s.opts.now().Sub(time.UnixMilli(createdAt)) > s.opts.ttl {
		s.expired.Add(1)
		s.misses.Add(1)
		return nil, false, nil
	}
	resp, ok := s.decode(key, body)
	return resp, ok, nil
}

func (s *SQLite) lookupErr(key string, err error) error {
	if s.isClosed.Load() {
		return ErrClosed
	}
	return fmt.Errorf("cache: look up %s in %s: %w", shortKey(key), s.path, err)
}

// decode turns a stored body into a hit, or into a logged miss.
func (s *SQLite) decode(key string, body []byte) (*llm.Response, bool) {
	resp := new(llm.Response)
	if err := json.Unmarshal(body, resp); err != nil {
		s.corrupt.Add(1)
		s.misses.Add(1)
		s.logger().Warn("cache: ignoring an entry that cannot be decoded; it will be replaced when the request is answered again",
			"path", s.path, "key", key, "err", err)
		return nil, false
	}
	s.hits.Add(1)
	s.saved.add(resp.Cost)
	resp.Cached = true
	resp.Header = nil
	return resp, true
}

// Put stores resp under key, replacing any response stored there. It encodes
// resp (without its Header) at once, so later changes to resp do not affect
// the store, and queues it for the writer; a Get on this handle sees it
// immediately, other handles once it is committed (see Flush). ctx bounds
// the wait for room in the write buffer (and for the commit with
// [WithWriteBuffer](0)).
func (s *SQLite) Put(ctx context.Context, key string, resp *llm.Response) error {
	if err := checkPut(key, resp); err != nil {
		return err
	}
	c := *resp
	c.Header = nil // also excluded by its json:"-" tag; belt and braces
	c.Cached = false
	if c.Message.Role == "" {
		c.Message.Role = conversation.RoleAssistant
	}
	body, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("cache: encode the response for %s: %w", shortKey(key), err)
	}
	it := &putItem{key: key, model: c.Model, createdAt: s.opts.now().UnixMilli(), cost: c.Cost, body: body}
	if s.opts.buffer == 0 {
		it.done = make(chan error, 1)
	}
	s.pmu.Lock()
	s.pending[key] = it
	s.npending.Store(int64(len(s.pending)))
	s.pmu.Unlock()
	if err := s.enqueue(ctx, it); err != nil {
		s.unpend(it)
		return err
	}
	s.puts.Add(1)
	if it.done == nil {
		return nil
	}
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("cache: waiting for the commit of %s: %w", shortKey(key), ctx.Err())
	}
}

func (s *SQLite) enqueue(ctx context.Context, it *putItem) error {
	s.qmu.RLock()
	defer s.qmu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.queue <- it:
		return nil
	default:
	}
	select {
	case s.queue <- it:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cache: waiting for room in the write buffer: %w", ctx.Err())
	}
}

func (s *SQLite) unpend(items ...*putItem) {
	s.pmu.Lock()
	for _, it := range items {
		if it.key != "" && s.pending[it.key] == it {
			delete(s.pending, it.key)
		}
	}
	s.npending.Store(int64(len(s.pending)))
	s.pmu.Unlock()
}

// Flush waits until every Put queued before it is committed to the file, and
// returns the first commit failure since the previous Flush, if any.
func (s *SQLite) Flush(ctx context.Context) error {
	marker := &putItem{done: make(chan error, 1)}
	if err := s.enqueue(ctx, marker); err != nil {
		return err
	}
	select {
	case err := <-marker.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("cache: flush: %w", ctx.Err())
	}
}

// Clear deletes every stored response, from the file (for all processes) as
// well as from the write buffer. Counters are kept.
func (s *SQLite) Clear(ctx context.Context) error {
	if err := s.Flush(ctx); err != nil && (errors.Is(err, ErrClosed) || ctx.Err() != nil) {
		return err
	} // else: a failure of earlier writes does not matter to a Clear
	if _, err := s.db.ExecContext(ctx, "DELETE FROM responses"); err != nil {
		if s.isClosed.Load() {
			return ErrClosed
		}
		return fmt.Errorf("cache: clear %s: %w", s.path, err)
	}
	return nil
}

// Stats returns this handle's counters and the number of responses in the
// file (expired ones included until they are pruned; counting reads the
// whole key index).
func (s *SQLite) Stats(ctx context.Context) (Stats, error) {
	st := Stats{
		Hits:        s.hits.Load(),
		Misses:      s.misses.Load(),
		Puts:        s.puts.Load(),
		Expired:     s.expired.Load(),
		Corrupt:     s.corrupt.Load(),
		WriteErrors: s.writeErrors.Load(),
		SavedCost:   s.saved.load(),
		Evictions:   s.evictions.Load(),
	}
	if s.isClosed.Load() {
		return st, ErrClosed
	}
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM responses").Scan(&st.Entries); err != nil {
		if s.isClosed.Load() {
			return st, ErrClosed
		}
		return st, fmt.Errorf("cache: count the entries of %s: %w", s.path, err)
	}
	return st, nil
}

// Close commits the queued Puts and closes the file. It returns the first
// commit failure since the last Flush, if any. Calls after the first return
// the same result; other methods then return ErrClosed.
func (s *SQLite) Close() error {
	s.closeOnce.Do(func() {
		s.qmu.Lock()
		s.closed = true
		s.isClosed.Store(true)
		close(s.queue)
		s.qmu.Unlock()
		<-s.writerDone
		err := s.takeWriteErr()
		s.closeWriter()
		s.closeErr = errors.Join(err, s.get.Close(), s.db.Close())
	})
	return s.closeErr
}

func (s *SQLite) takeWriteErr() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	err := s.writeErr
	s.writeErr = nil
	return err
}

// writeLoop is the writer goroutine: it commits whatever is queued in one
// transaction, so that Puts arriving while a commit runs share the next one.
func (s *SQLite) writeLoop() {
	defer close(s.writerDone)
	batch := make([]*putItem, 0, maxBatch)
	for it := range s.queue {
		batch = append(batch[:0], it)
	gather:
		for len(batch) < maxBatch {
			select {
			case it, ok := <-s.queue:
				if !ok {
					break gather
				}
				batch = append(batch, it)
			default:
				break gather
			}
		}
		s.commit(batch)
		clear(batch)
	}
}

func (s *SQLite) commit(batch []*putItem) {
	n := 0
	for _, it := range batch {
		if it.key != "" {
			n++
		}
	}
	var err error
	if n > 0 {
		if err = s.writeBatch(batch); err != nil {
			err = fmt.Errorf("cache: write %d responses to %s: %w", n, s.path, err)
			s.writeErrors.Add(int64(n))
			s.logger().Warn("cache: responses were not stored; they will be requested again next time", "path", s.path, "count", n, "err", err)
			s.errMu.Lock()
			if s.writeErr == nil {
				s.writeErr = err
			}
			s.errMu.Unlock()
		} else {
			s.maybePrune(n)
		}
		s.unpend(batch...)
	}
	for _, it := range batch {
		switch {
		case it.done == nil:
		case it.key == "": // Flush marker
			it.done <- s.takeWriteErr()
		default:
			it.done <- err
		}
	}
}

func (s *SQLite) writeBatch(batch []*putItem) error {
	ctx := context.Background() // Close waits for the writer; busy_timeout bounds it
	if s.wconn == nil {
		if err := s.openWriter(ctx); err != nil {
			return err
		}
	}
	if _, err := s.wconn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	for _, it := range batch {
		if it.key == "" {
			continue
		}
		if _, err := s.wstmt.ExecContext(ctx, it.key, it.model, it.createdAt, it.cost, it.body); err != nil {
			s.rollback()
			return err
		}
	}
	if _, err := s.wconn.ExecContext(ctx, "COMMIT"); err != nil {
		s.rollback()
		return err
	}
	return nil
}

// rollback ends a failed transaction; if even that fails, the writer's
// connection is dropped and a fresh one is opened for the next batch.
func (s *SQLite) rollback() {
	if _, err := s.wconn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		s.closeWriter()
	}
}

func (s *SQLite) openWriter(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	stmt, err := conn.PrepareContext(ctx,
		"INSERT OR REPLACE INTO responses (key, model, created_at, cost, body) VALUES (?, ?, ?, ?, ?)")
	if err != nil {
		conn.Close()
		return err
	}
	s.wconn, s.wstmt = conn, stmt
	return nil
}

func (s *SQLite) closeWriter() {
	if s.wconn == nil {
		return
	}
	s.wstmt.Close()
	s.wconn.Close()
	s.wconn, s.wstmt = nil, nil
}

// shortKey abbreviates a fingerprint for messages.
func shortKey(key string) string {
	if len(key) > 12 {
		return key[:12] + "…"
	}
	return key
}
