module example.com/gotestpkg

go 1.19
