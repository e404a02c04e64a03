module cgoshim.example/cstring-leak

go 1.19
