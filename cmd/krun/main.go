// Command krun exports RoBERTa + K-Adapter checkpoints to ONNX and runs the
// graphs on ONNX Runtime (export, infer, eval, predict). Each subcommand
// lives in its own file and registers itself.
package main

import "github.com/kadapter/kadapter/internal/cli"

var program = cli.NewProgram("krun", "export K-Adapter models to ONNX and run them on ONNX Runtime")

func main() { program.Main() }
