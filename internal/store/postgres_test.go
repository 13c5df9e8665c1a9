package store_test

import (
	"testing"

	"github.com/coze2app/coze2app/internal/store/storetest"
)

// TestPostgres runs the conformance suite against PostgreSQL, each subtest in
// a schema of its own. COZE2APP_TEST_DATABASE_URL picks the server (default
// storetest.DefaultPostgresURL); without one the test skips, or fails under
// CI=true.
func TestPostgres(t *testing.T) {
	storetest.PostgresURL(t) // skip (or fail under CI) early if unreachable
	storetest.Run(t, storetest.PostgresURL)
}
