package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// applicationID marks a SQLite file as a deluge cache (PRAGMA application_id;
// "dlgc").
const applicationID = 0x646c6763

// migrations[i] upgrades a file from schema version i to i+1; the version is
// kept in PRAGMA user_version. Never edit a released migration: append one.
var migrations = [][]string{
	// 0 → 1: the initial schema. body is the JSON of llm.Response (never its
	// Header); model, created_at (Unix milliseconds) and cost (the original
	// USD price) are copies of body fields for pruning and inspection.
	{
		`CREATE TABLE responses (
			key        TEXT PRIMARY KEY,
			model      TEXT NOT NULL,
			created_at INTEGER NOT NULL,
			cost       REAL NOT NULL,
			body       BLOB NOT NULL
		)`,
		`CREATE INDEX responses_created_at ON responses (created_at)`,
	},
}

// schemaVersion is the schema version this build writes and reads.
var schemaVersion = len(migrations)

// SchemaError reports a cache file written by a newer deluge. It matches
// ErrNewerSchema with errors.Is.
type SchemaError struct {
	// Path is the cache file.
	Path string
	// Version is the file's schema version; Supported the newest this build
	// understands.
	Version, Supported int
}

// Error says which file, which schemas, and what to do.
func (e *SchemaError) Error() string {
	return fmt.Sprintf("cache file %s was written by a newer deluge (schema %d; this build reads up to schema %d): delete it or use --no-cache",
		e.Path, e.Version, e.Supported)
}

// Is reports whether target is ErrNewerSchema.
func (e *SchemaError) Is(target error) bool { return target == ErrNewerSchema }

// migrate puts the file at path (open as db) in WAL mode and brings it to
// schemaVersion, or explains why it cannot.
func migrate(ctx context.Context, db *sql.DB, path string, busyTimeout time.Duration) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()

	// Check before changing anything: another application's file is left
	// as it is.
	version, err := checkHeader(ctx, conn, path)
	if err != nil {
		return err
	}
	if err := enableWAL(ctx, conn, busyTimeout); err != nil {
		return fmt.Errorf("enable WAL mode: %w", err)
	}
	// Without taking the write lock when up to date: many processes
	// opening the file at once should not queue behind each other.
	if version == schemaVersion {
		return nil
	}

	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	// Another process may have migrated while we waited for the lock.
	if version, err = checkHeader(ctx, conn, path); err != nil {
		return err
	}
	for v := version; v < schemaVersion; v++ {
		for _, stmt := range migrations[v] {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
		}
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	committed = true
	return nil
}

// checkHeader returns the file's schema version after checking that the file
// is a deluge cache (or empty) that this build can read.
func checkHeader(ctx context.Context, conn *sql.Conn, path string) (int, error) {
	// One statement, so one snapshot: another process may be migrating.
	var version, appID, tables int
	err := conn.QueryRowContext(ctx, `SELECT
		(SELECT user_version FROM pragma_user_version),
		(SELECT application_id FROM pragma_application_id),
		(SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\')`).Scan(&version, &appID, &tables)
	if err != nil {
		return 0, err
	}
	switch {
	case appID != 0 && appID != applicationID:
		return 0, fmt.Errorf("%w: %s belongs to another application (SQLite application_id %#x): give deluge its own cache file or use --no-cache",
			ErrNotCache, path, appID)
	case appID == 0:
		// A new file, or a foreign one: refuse to write into a database
		// that already holds other tables.
		if tables > 0 || version != 0 {
			return 0, fmt.Errorf("%w: %s is an SQLite database of another application: give deluge its own cache file or use --no-cache",
				ErrNotCache, path)
		}
	case version > schemaVersion:
		return 0, &SchemaError{Path: path, Version: version, Supported: schemaVersion}
	}
	return version, nil
}

// enableWAL switches the file to WAL mode, which is persistent, so that
// readers and the writer (of any process) do not block each other. SQLite
// does not call the busy handler for this change, hence the retries.
func enableWAL(ctx context.Context, conn *sql.Conn, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for delay := 2 * time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		var mode string
		err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		if err == nil && !strings.EqualFold(mode, "wal") {
			err = conn.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
			if err == nil && !strings.EqualFold(mode, "wal") {
				return fmt.Errorf("SQLite kept journal mode %q (is the file on a file system without shared memory?)", mode)
			}
		}
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED (any extended
// code).
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	const sqliteBusy, sqliteLocked = 5, 6
	code := se.Code() & 0xff
	return code == sqliteBusy || code == sqliteLocked
}
