module cgoshim.test/execprog

go 1.19
