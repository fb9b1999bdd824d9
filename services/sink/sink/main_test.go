package sink

import (
	"testing"

	"github.com/newsflow/newsflow/services/sink/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
