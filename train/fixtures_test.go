package train_test

import (
	"context"
	"testing"

	"github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/train"
	"github.com/kadapter/kadapter/train/traintest"
)

// TestFixturesUpstream runs every kadapter-tiny training setup through the
// train package with the upstream loop, graph optimization disabled (the
// krun train test runs them at "all"), and compares with the original.
func TestFixturesUpstream(t *testing.T) {
	traintest.CheckAll(t, func(t *testing.T, o train.Options) (*train.Result, []train.UpdateLog) {
		o.Session.Optimization = runtime.OptDisable
		var logs []train.UpdateLog
		res, err := train.Train(context.Background(), o, train.Observer{Update: func(u train.UpdateLog) error {
			logs = append(logs, u)
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		return res, logs
	})
}

// TestFixturesUpstreamRecompute: the same comparison with every trained
// transformer layer recomputed in the backward pass.
func TestFixturesUpstreamRecompute(t *testing.T) {
	traintest.CheckAll(t, func(t *testing.T, o train.Options) (*train.Result, []train.UpdateLog) {
		o.Recompute = true
		var logs []train.UpdateLog
		res, err := train.Train(context.Background(), o, train.Observer{Update: func(u train.UpdateLog) error {
			logs = append(logs, u)
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		return res, logs
	})
}
