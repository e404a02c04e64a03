module cgoshim.bench/gowork

go 1.19
