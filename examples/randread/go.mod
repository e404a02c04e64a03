module cgoshim.example/randread

go 1.19
