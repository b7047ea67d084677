package models_test

// The tasks' graphs are registered by package tasks.
import _ "github.com/kadapter/kadapter/tasks"
