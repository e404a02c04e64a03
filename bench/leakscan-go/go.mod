module cgoshim.bench/leakscango

go 1.19
