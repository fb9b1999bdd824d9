package store_test

import (
	"testing"

	"github.com/newsflow/newsflow/services/sink/store/pgtest"
)

// TestMain stops the PostgreSQL cluster the contract tests share.
func TestMain(m *testing.M) { pgtest.Main(m) }
