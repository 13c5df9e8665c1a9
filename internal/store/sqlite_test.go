package store_test

import (
	"testing"

	"github.com/coze2app/coze2app/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, storetest.SQLiteURL)
}
