module cgoshim.test/sigprog

go 1.19
