#!/usr/bin/env node
console.log("tokpack: work in progress");
