module cgoshim.test/goleak

go 1.19
