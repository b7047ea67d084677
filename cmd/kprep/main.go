// Command kprep prepares K-Adapter data: it cleans the T-REx dump into the
// fac-adapter relation-classification dataset, parses book text into the
// lin-adapter dependency dataset, tokenizes with RoBERTa's BPE and builds
// task features. Each subcommand lives in its own file and registers itself.
package main

import "github.com/kadapter/kadapter/internal/cli"

var program = cli.NewProgram("kprep", "prepare K-Adapter datasets and model inputs")

func main() { program.Main() }
