module cgoshim.test/goslow

go 1.19
