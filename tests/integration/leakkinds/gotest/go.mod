module cgoshim.test/gotest

go 1.19
