module cgoshim.test/stackprog

go 1.19
